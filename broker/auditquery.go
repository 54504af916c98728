package broker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/store"
)

// AuditQuery selects audit events (SPEC §9 `GET /v1/audit?domain&type&client_id&subject&
// since&until&limit&cursor`). HasDomain says whether a domain was asked for at all: an
// explicit empty domain is the chain of events without a domain.
type AuditQuery struct {
	Domain    string
	HasDomain bool
	Type      string
	ClientID  string
	Subject   string
	Since     time.Time // inclusive; zero = unbounded
	Until     time.Time // exclusive; zero = unbounded
	Limit     int       // 1..1000; 0 means 100 (listing only)
	Cursor    string    // opaque, from a previous page (listing only)
}

// AuditPage is one page of events, newest first; NextCursor is "" on the last page.
type AuditPage struct {
	Events     []store.AuditEvent `json:"events"`
	NextCursor string             `json:"next_cursor"`
}

// ParseAuditQuery reads AuditQuery from single-valued query parameters. since and until are
// RFC 3339 (since inclusive, until exclusive, since not after until), limit an integer from
// 1 to 1000 (default 100). Anything malformed is invalid_request; unknown parameters are
// ignored.
func ParseAuditQuery(p map[string]string) (AuditQuery, error) {
	q := AuditQuery{Type: p["type"], ClientID: p["client_id"], Subject: p["subject"], Cursor: p["cursor"]}
	q.Domain, q.HasDomain = p["domain"]
	q.Domain = strings.ToLower(strings.TrimSpace(q.Domain))
	var err error
	if q.Since, err = parseTime("since", p["since"]); err != nil {
		return AuditQuery{}, err
	}
	if q.Until, err = parseTime("until", p["until"]); err != nil {
		return AuditQuery{}, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return AuditQuery{}, errorf(InvalidRequest, "since is after until")
	}
	if q.Limit, err = parseLimit(p["limit"]); err != nil {
		return AuditQuery{}, err
	}
	return q, nil
}

// parseTime reads an RFC 3339 time; "" is the zero time.
func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errorf(InvalidRequest, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// filter turns q into a store filter: one domain's chain (indexed, SPEC §9), or every
// chain when no domain was asked for.
func (q AuditQuery) filter(domain string, oneDomain bool) store.AuditFilter {
	return store.AuditFilter{Domain: domain, AllDomains: !oneDomain, Type: q.Type, ClientID: q.ClientID,
		Subject: q.Subject, Since: q.Since, Until: q.Until, Cursor: q.Cursor, Limit: q.Limit}
}

// auditFilter applies the caller's role and domain limit to q: auditor and operator keys
// read the trail; a key limited to a domain reads only that domain's chain (never the
// domain-less one) and asking for another domain is forbidden.
func (c APIKeyCaller) auditFilter(q AuditQuery) (store.AuditFilter, error) {
	if err := c.requireRole(store.RoleAuditor, store.RoleOperator); err != nil {
		return store.AuditFilter{}, err
	}
	domain, one, err := c.visibleDomain(q.Domain, q.HasDomain)
	if err != nil {
		return store.AuditFilter{}, err
	}
	return q.filter(domain, one), nil
}

// ListAudit serves `GET /v1/audit` (SPEC §9): one page of events, newest first, for an
// auditor or operator key within its domain limit. A malformed cursor is invalid_request.
func (b *Broker) ListAudit(ctx context.Context, caller APIKeyCaller, q AuditQuery) (AuditPage, error) {
	f, err := caller.auditFilter(q)
	if err != nil {
		return AuditPage{}, err
	}
	return listAudit(ctx, b.store, f)
}

// ExportAudit serves `GET /v1/audit/export` (SPEC §9): fn gets every event matching q
// (Cursor and Limit ignored), oldest first, streaming, within the caller's domain limit.
// It stops at fn's first error and returns it as is; store failures are *Error.
func (b *Broker) ExportAudit(ctx context.Context, caller APIKeyCaller, q AuditQuery, fn func(store.AuditEvent) error) error {
	f, err := caller.auditFilter(q)
	if err != nil {
		return err
	}
	return exportAudit(ctx, b.store, f, fn)
}

// TailAudit returns the newest events matching q (at most q.Limit), newest first, without
// an API key's limits: it serves `broker audit tail`.
func TailAudit(ctx context.Context, s store.Audit, q AuditQuery) ([]store.AuditEvent, error) {
	page, err := listAudit(ctx, s, q.filter(q.Domain, q.HasDomain))
	return page.Events, err
}

// ExportAuditAll streams every event matching q, oldest first, to fn without an API key's
// limits: it serves `broker audit export`.
func ExportAuditAll(ctx context.Context, s store.Audit, q AuditQuery, fn func(store.AuditEvent) error) error {
	return exportAudit(ctx, s, q.filter(q.Domain, q.HasDomain), fn)
}

func listAudit(ctx context.Context, s store.Audit, f store.AuditFilter) (AuditPage, error) {
	evs, next, err := s.ListAudit(ctx, f)
	if err != nil {
		// The stores refuse a cursor they did not make with a plain error: a 400, never a 500.
		if f.Cursor != "" && !errors.Is(err, store.ErrUnavailable) {
			return AuditPage{}, &Error{Code: InvalidRequest, Description: "invalid cursor", Cause: err}
		}
		return AuditPage{}, storeErr("list audit", err)
	}
	if evs == nil {
		evs = []store.AuditEvent{}
	}
	return AuditPage{Events: evs, NextCursor: next}, nil
}

func exportAudit(ctx context.Context, s store.Audit, f store.AuditFilter, fn func(store.AuditEvent) error) error {
	f.Cursor, f.Limit = "", 0
	var fnErr error
	err := s.ExportAudit(ctx, f, func(e store.AuditEvent) error {
		fnErr = fn(e)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return storeErr("export audit", err)
	}
	return nil
}

// ChainBreak is a failed verification: Event names the first bad event (by id, "" when
// the input could not be read as an event at all) and Err says what is wrong.
type ChainBreak struct {
	Event string
	Err   error
}

// Error says what is wrong, naming the event.
func (e *ChainBreak) Error() string { return e.Err.Error() }

// Unwrap returns what is wrong.
func (e *ChainBreak) Unwrap() error { return e.Err }

// VerifyDomain recomputes the domain's hash chain as stored (SPEC §9 `broker audit verify
// --domain D`): every event's hash over its content, every prev_hash equal to the previous
// event's hash, the first kept event following the retention anchor (or 64 zeros), and the
// chain reaching the head the store recorded before the check started (so events removed
// from the end are noticed too). It returns how many events it checked, or a *ChainBreak
// naming the first bad event. Events appended meanwhile are checked or not, never wrong.
func VerifyDomain(ctx context.Context, s store.Audit, domain string) (int, error) {
	n, err := verifyDomainOnce(ctx, s, domain)
	var br *chainStartBreak
	if errors.As(err, &br) {
		// Retention may have trimmed the chain between reading its anchor and reading its
		// first event: look once more before calling it a break.
		n, err = verifyDomainOnce(ctx, s, domain)
		if errors.As(err, &br) {
			err = br.ChainBreak
		}
	}
	return n, err
}

// chainStartBreak is a break at a domain's first exported event.
type chainStartBreak struct{ *ChainBreak }

func verifyDomainOnce(ctx context.Context, s store.Audit, domain string) (int, error) {
	head, err := s.AuditHead(ctx, domain)
	if err != nil {
		return 0, storeErr("audit head", err)
	}
	anchor, err := s.AuditAnchor(ctx, domain)
	if err != nil {
		return 0, storeErr("audit anchor", err)
	}
	v := audit.NewVerifier(func(string) string { return anchor })
	sawHead := head == "" || head == anchor
	var lastHash string
	err = exportAudit(ctx, s, store.AuditFilter{Domain: domain}, func(e store.AuditEvent) error {
		if err := v.Add(e); err != nil {
			br := &ChainBreak{Event: e.ID, Err: err}
			if v.Count() == 1 {
				return &chainStartBreak{br}
			}
			return br
		}
		if e.Hash == head {
			sawHead = true
		}
		lastHash = e.Hash
		return nil
	})
	if err != nil {
		return v.Count(), err
	}
	if !sawHead {
		return v.Count(), &ChainBreak{Event: "", Err: fmt.Errorf(
			"domain %q: the chain ends at %s after %d events, but its recorded head is %s: events were removed from the end", domain, orNone(lastHash), v.Count(), head)}
	}
	return v.Count(), nil
}

func orNone(h string) string {
	if h == "" {
		return "(no event)"
	}
	return h
}

// VerifyExport recomputes the hash chains of an NDJSON export (SPEC §9 `broker audit
// verify --file`), oldest first, each domain's chain on its own. A domain's first event
// must follow 64 zeros or, when anchor is not nil, the anchor it returns for that domain
// (the retention anchor of the store the export came from). It returns how many events it
// checked, or a *ChainBreak naming the first bad event (or line).
func VerifyExport(r io.Reader, anchor func(domain string) string) (int, error) {
	v := audit.NewVerifier(anchor)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var e store.AuditEvent
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || dec.More() {
			id := eventIDOf(text)
			return v.Count(), &ChainBreak{Event: id, Err: fmt.Errorf("line %d (id %q): not an audit event: %v", line, id, errOr(err, "trailing data"))}
		}
		if err := v.Add(e); err != nil {
			return v.Count(), &ChainBreak{Event: e.ID, Err: fmt.Errorf("line %d: %w", line, err)}
		}
	}
	if err := sc.Err(); err != nil {
		return v.Count(), fmt.Errorf("reading the export after line %d: %w", line, err)
	}
	return v.Count(), nil
}

// eventIDOf digs the id out of a line that is not a valid event, to name it if it can.
func eventIDOf(text string) string {
	var m map[string]any
	if json.Unmarshal([]byte(text), &m) == nil {
		if id, ok := m["id"].(string); ok {
			return id
		}
	}
	return ""
}

func errOr(err error, s string) any {
	if err != nil {
		return err
	}
	return s
}
