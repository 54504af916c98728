package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Audit pages: at most maxAuditLimit events per ListAudit page, defaultAuditLimit when the
// filter names no limit.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// ListAudit returns one page of events matching f, newest first, and the cursor of the next
// page ("" on the last). With a Domain (AllDomains false) it reads only that domain's chain,
// newest first by chain order; with AllDomains it walks the all-domains index (one partition
// per UTC day, newest day first), newest first by event time (chain order among equal
// times), within Since/Until when set. Type, client, subject and exact time filters are
// applied while reading pages; the page looks one match ahead, so a cursor is returned only
// when another match exists. A malformed cursor is an error.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	pos, err := decodeAuditCursor(f.Cursor, f.AllDomains)
	if err != nil {
		return nil, "", err
	}
	batch := limit + 1
	if filtered(f) {
		batch = max(batch, auditPageSize)
	}
	var out []store.AuditEvent
	last := "" // position of the event returned last
	for {
		page, err := s.auditRead(ctx, f, pos, batch, 'd')
		if err != nil {
			return nil, "", err
		}
		for _, it := range page {
			pos = it.pos
			e, ok, err := matchEvent(f, it.json)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				continue
			}
			if len(out) == limit {
				return out, encodeAuditCursor(last, f.AllDomains), nil
			}
			out, last = append(out, e), it.pos
		}
		if len(page) < batch {
			return out, "", nil
		}
	}
}

// ExportAudit calls fn for every event matching f, oldest first (as ListAudit orders them,
// reversed), reading auditPageSize events per round trip; it stops at fn's first error and
// returns it.
func (s *Store) ExportAudit(ctx context.Context, f store.AuditFilter, fn func(store.AuditEvent) error) error {
	pos := "" // "": from the oldest
	for {
		page, err := s.auditRead(ctx, f, pos, auditPageSize, 'a')
		if err != nil {
			return err
		}
		for _, it := range page {
			pos = it.pos
			e, ok, err := matchEvent(f, it.json)
			if err != nil {
				return err
			}
			if ok {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		if len(page) < auditPageSize {
			return nil
		}
	}
}

// auditRead reads the next page strictly beyond position pos ("": from the start in
// direction dir) of f's chain: one domain's or, with AllDomains, the all-domains index
// narrowed to f's time window (and so to the day partitions of that window).
func (s *Store) auditRead(ctx context.Context, f store.AuditFilter, pos string, n int, dir byte) ([]auditItem, error) {
	if f.AllDomains {
		hi, lo := "+", "-"
		if !f.Until.IsZero() {
			hi = "(" + timeKey(f.Until.UnixMilli()+1)
		}
		if !f.Since.IsZero() {
			lo = "[" + timeKey(f.Since.UnixMilli())
		}
		switch {
		case pos != "" && dir == 'd':
			hi = "(" + pos
		case pos != "":
			lo = "(" + pos
		}
		return s.auditPageAll(ctx, hi, lo, n, dir)
	}
	from := ""
	if pos != "" {
		seq, _ := strconv.ParseInt(pos, 10, 64)
		if dir == 'd' {
			if seq <= 1 {
				return nil, nil
			}
			seq--
		} else {
			seq++
		}
		from = itoa(seq)
	}
	return s.auditPage(ctx, f.Domain, from, n, dir)
}

// filtered reports whether f filters beyond the chain it names.
func filtered(f store.AuditFilter) bool {
	return f.Type != "" || f.ClientID != "" || f.Subject != "" || !f.Since.IsZero() || !f.Until.IsZero()
}

// matchEvent decodes a stored event and applies f's filters (holes never match). Since is
// inclusive, Until exclusive; an event whose time does not parse fails any time filter.
func matchEvent(f store.AuditFilter, raw string) (store.AuditEvent, bool, error) {
	if raw == "" {
		return store.AuditEvent{}, false, nil
	}
	e, err := decodeEvent(raw)
	if err != nil {
		return store.AuditEvent{}, false, corrupt("audit event", err)
	}
	if (f.Type != "" && e.Type != f.Type) || (f.ClientID != "" && e.ClientID != f.ClientID) ||
		(f.Subject != "" && e.Subject != f.Subject) {
		return e, false, nil
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil || (!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && !t.Before(f.Until)) {
			return e, false, nil
		}
	}
	return e, true, nil
}

// Cursors are base64url of "d:<seq>" (one domain's chain) or "a:<index member>"
// (AllDomains): the position of the last event returned. The member leads with its time,
// which names its day partition, so its time and sequence number must be digits.
func encodeAuditCursor(pos string, all bool) string {
	p := "d:"
	if all {
		p = "a:"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(p + pos))
}

func decodeAuditCursor(c string, all bool) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if all {
			if rest, ok := strings.CutPrefix(string(b), "a:"); ok && len(rest) >= 31 && rest[13] == ':' && rest[30] == ':' &&
				digits(rest[:13]) && digits(rest[14:30]) {
				return rest, nil
			}
		} else if rest, ok := strings.CutPrefix(string(b), "d:"); ok {
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n > 0 {
				return rest, nil
			}
		}
	}
	return "", errors.New("redis store: invalid audit cursor")
}

// digits reports whether s is made of ASCII digits only.
func digits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}
