package embedded

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/enterprise-connect/broker/store"
)

// exportChunk is how many events ExportAudit reads per statement: memory stays bounded
// however long the chain, and no read transaction stays open while fn runs.
const exportChunk = 500

// auditWhere builds the WHERE conditions and arguments of f (without cursor and limit).
// With a Domain filter, the first condition is on chain, so SQLite walks that chain's
// index only (SPEC §9: no scan of other domains).
func auditWhere(f store.AuditFilter) ([]string, []any) {
	var (
		where []string
		args  []any
	)
	if !f.AllDomains {
		where = append(where, "chain = ?")
		args = append(args, f.Domain)
	}
	for _, c := range []struct{ col, val string }{
		{"type", f.Type}, {"client_id", f.ClientID}, {"subject", f.Subject},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "time_ms >= ?")
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "time_ms < ?")
		args = append(args, ms(f.Until))
	}
	return where, args
}

// auditOrder is how a listing walks events. A domain's events are listed in chain order
// (seq): that is the order verification needs, even where replicas' clocks disagree. Events
// of all domains are merged by time, then chain order (Spec is silent on the merge: "newest
// first" across chains can only mean by time).
type auditOrder struct {
	allDomains bool
}

// key is the ORDER BY key, as a row value.
func (o auditOrder) key() string {
	if o.allDomains {
		return "(time_ms, seq)"
	}
	return "(seq)"
}

// orderBy returns the ORDER BY clause in direction dir ("ASC" or "DESC").
func (o auditOrder) orderBy(dir string) string {
	if o.allDomains {
		return " ORDER BY time_ms " + dir + ", seq " + dir
	}
	return " ORDER BY seq " + dir
}

// position is where an event sits in either order.
type position struct{ timeMS, seq int64 }

// args returns p's values for o.key().
func (o auditOrder) args(p position) []any {
	if o.allDomains {
		return []any{p.timeMS, p.seq}
	}
	return []any{p.seq}
}

// placeholders is "(?, ?)" or "(?)" to match o.key().
func (o auditOrder) placeholders() string {
	if o.allDomains {
		return "(?, ?)"
	}
	return "(?)"
}

// ListAudit returns one page of events matching f, newest first, and the cursor of the next
// page ("" on the last page): a domain's events in reverse chain order, all domains' by time
// then chain order. The cursor is the opaque position of the page's last event; a cursor
// this store did not make fails with an error that wraps neither ErrNotFound nor
// ErrUnavailable. A Domain filter reads only that domain's events.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, string, error) {
	o := auditOrder{allDomains: f.AllDomains}
	where, args := auditWhere(f)
	if f.Cursor != "" {
		p, err := decodeAuditCursor(f.Cursor)
		if err != nil {
			return nil, "", classify("list audit", err)
		}
		where = append(where, o.key()+" < "+o.placeholders())
		args = append(args, o.args(p)...)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	args = append(args, limit+1)
	events, pos, err := s.queryAudit(ctx, where, o.orderBy("DESC"), args)
	if err != nil {
		return nil, "", classify("list audit", err)
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		next = encodeAuditCursor(pos[limit-1])
	}
	return events, next, nil
}

// ExportAudit calls fn for every event matching f (Cursor and Limit ignored), oldest first
// (the reverse of ListAudit's order). It reads in chunks of exportChunk events, holding no
// transaction while fn runs, and only events that existed when it started, so a busy chain
// cannot make it run forever. It stops at fn's first error and returns it unwrapped.
func (s *Store) ExportAudit(ctx context.Context, f store.AuditFilter, fn func(store.AuditEvent) error) error {
	var last int64
	if err := s.row(ctx, `SELECT coalesce(max(seq), 0) FROM audit_events`).Scan(&last); err != nil {
		return classify("export audit", err)
	}
	o := auditOrder{allDomains: f.AllDomains}
	where, args := auditWhere(f)
	where = append(where, "seq <= ?")
	args = append(args, last)
	var after *position
	for {
		w, a := where, args
		if after != nil {
			w = append(w[:len(w):len(w)], o.key()+" > "+o.placeholders())
			a = append(a[:len(a):len(a)], o.args(*after)...)
		}
		events, pos, err := s.queryAudit(ctx, w, o.orderBy("ASC"), append(a, exportChunk))
		if err != nil {
			return classify("export audit", err)
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(events) < exportChunk {
			return nil
		}
		after = &pos[len(pos)-1]
	}
}

// queryAudit runs one page query: where joined with AND, then orderBy, the last argument
// being the LIMIT. It returns the events and their positions.
func (s *Store) queryAudit(ctx context.Context, where []string, orderBy string, args []any) ([]store.AuditEvent, []position, error) {
	q := `SELECT time_ms, seq, ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += orderBy + ` LIMIT ?`
	rows, err := s.rows(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		events []store.AuditEvent
		pos    []position
	)
	for rows.Next() {
		var (
			e store.AuditEvent
			p position
		)
		if err := rows.Scan(&p.timeMS, &p.seq, &e.ID, &e.Time, &e.Type, &e.Domain, &e.ClientID,
			&e.GrantID, &e.Actor, &e.Subject, &e.Scope, &e.Result, &e.Error, &e.IP, &e.RequestID,
			&e.PrevHash, &e.Hash); err != nil {
			return nil, nil, err
		}
		events = append(events, e)
		pos = append(pos, p)
	}
	return events, pos, rows.Err()
}

// encodeAuditCursor makes the opaque cursor of position p: base64url of "time.seq".
func encodeAuditCursor(p position) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(strconv.FormatInt(p.timeMS, 10) + "." + strconv.FormatInt(p.seq, 10)))
}

func decodeAuditCursor(c string) (position, error) {
	bad := fmt.Errorf("%w: cursor", errInvalid)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return position{}, bad
	}
	t, q, ok := strings.Cut(string(b), ".")
	if !ok {
		return position{}, bad
	}
	var p position
	p.timeMS, err = strconv.ParseInt(t, 10, 64)
	if err != nil {
		return position{}, bad
	}
	p.seq, err = strconv.ParseInt(q, 10, 64)
	if err != nil || p.seq <= 0 {
		return position{}, bad
	}
	return p, nil
}
