package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enterprise-connect/broker/store"
)

// auditPageSize is how many events one read of a chain fetches (ListAudit with filters,
// ExportAudit, TrimAudit).
const auditPageSize = 500

// AuditHead returns the hash of the domain's newest event; when every event was trimmed
// that is the anchor; "" for a chain that never had an event.
func (s *Store) AuditHead(ctx context.Context, domain string) (string, error) {
	return s.getString(ctx, s.key("ah:", domain))
}

// AuditAnchor returns the hash of the domain's newest trimmed event ("" when none was).
func (s *Store) AuditAnchor(ctx context.Context, domain string) (string, error) {
	return s.getString(ctx, s.key("aa:", domain))
}

// getString is GET with a missing key read as "".
func (s *Store) getString(ctx context.Context, key string) (string, error) {
	v, err := s.cmd.Get(ctx, key).Result()
	if isNil(err) {
		return "", nil
	}
	if err != nil {
		return "", unavailable(err)
	}
	return v, nil
}

// AppendAudit appends events (already chained from prevHash) to the domain's chain in one
// script, if and only if the head is still prevHash; otherwise ErrConflict and nothing is
// written. The script checks the head, numbers the events (per domain), stores them, adds
// them to the all-domains index partition of their UTC day and moves the head.
func (s *Store) AppendAudit(ctx context.Context, domain, prevHash string, events []store.AuditEvent) error {
	st, _, err := s.run(ctx, s.sc.appendAudit, nil, appendArgs(domain, prevHash, events)...)
	if err != nil {
		return err
	}
	return okOr(st)
}

var _ store.AuditPipeline = (*Store)(nil)

// SubmitAudit queues AppendAudit's script on the ordered stream without waiting for its
// reply (store.AuditPipeline). Without that stream it runs AppendAudit before returning.
// A script Redis does not hold yet (NOSCRIPT, after a restart or SCRIPT FLUSH) is sent
// again in full on the blocking client: out of order, which at worst makes this or a later
// append answer ErrConflict.
func (s *Store) SubmitAudit(ctx context.Context, domain, prevHash string, events []store.AuditEvent) func() error {
	if s.ordered == nil {
		err := s.AppendAudit(ctx, domain, prevHash, events)
		return func() error { return err }
	}
	args := appendArgs(domain, prevHash, events)
	keys := []string{s.base}
	cmd := s.sc.appendAudit.EvalSha(ctx, s.ordered, keys, args...)
	return func() error {
		v, err := cmd.Slice()
		if goredis.HasErrorPrefix(err, "NOSCRIPT") {
			v, err = s.sc.appendAudit.Eval(ctx, s.cmd, keys, args...).Slice()
		}
		st, _, err := reply(v, err)
		if err != nil {
			return err
		}
		return okOr(st)
	}
}

// appendArgs are append_audit.lua's arguments: domain, expected head, new head, then per
// event its time key, day and stored form.
func appendArgs(domain, prevHash string, events []store.AuditEvent) []any {
	head := prevHash
	args := make([]any, 3, 3+3*len(events))
	for _, e := range events {
		tk := eventTimeKey(e.Time)
		args = append(args, tk, dayKey(tk), encodeEvent(&e))
		head = e.Hash
	}
	args[0], args[1], args[2] = domain, prevHash, head
	return args
}

// eventFields is how many fields a stored event has: the array form's length.
const eventFields = 15

// encodeEvent is an event as its chain's hash stores it: a JSON array of its fields in the
// order of store.AuditEvent, without the object form's keys: Redis holds 605 bytes per
// seeded event instead of 733. It is written without reflection (a batch mint encodes up to
// 1,000 events per request); decodeEvent reads it with encoding/json.
func encodeEvent(e *store.AuditEvent) []byte {
	fields := [eventFields]string{e.ID, e.Time, e.Type, e.Domain, e.ClientID, e.GrantID, e.Actor,
		e.Subject, e.Scope, e.Result, e.Error, e.IP, e.RequestID, e.PrevHash, e.Hash}
	n := 2 + 3*len(fields)
	for _, f := range fields {
		n += len(f)
	}
	b := make([]byte, 0, n+16)
	b = append(b, '[')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = store.AppendJSONString(b, f)
	}
	return append(b, ']')
}

// decodeEvent reads a stored event: the array form of encodeEvent (fields after the known
// ones, from a newer version, are ignored), or the JSON object events were stored as before.
func decodeEvent(raw string) (store.AuditEvent, error) {
	var e store.AuditEvent
	if strings.HasPrefix(raw, "{") {
		err := json.Unmarshal([]byte(raw), &e)
		return e, err
	}
	var v []string
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return e, err
	}
	if len(v) < eventFields {
		return e, fmt.Errorf("%d fields, want %d", len(v), eventFields)
	}
	return store.AuditEvent{ID: v[0], Time: v[1], Type: v[2], Domain: v[3], ClientID: v[4], GrantID: v[5],
		Actor: v[6], Subject: v[7], Scope: v[8], Result: v[9], Error: v[10], IP: v[11], RequestID: v[12],
		PrevHash: v[13], Hash: v[14]}, nil
}

// eventTimeKey is an event's time in ms, zero-padded to 13 digits, as it leads its member
// of the all-domains index; an unparseable time sorts first.
func eventTimeKey(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		return timeKey(0)
	}
	return timeKey(t.UnixMilli())
}

// dayKey is the UTC day, "YYYYMMDD", of the 13-digit time that leads an all-domains index
// member (or a time key): the day partition ag:<day> that holds the member. Days sort
// lexicographically in time order, the years 1970…2286 of timeKey included.
func dayKey(member string) string {
	v, _ := strconv.ParseInt(member[:13], 10, 64)
	return time.UnixMilli(v).UTC().Format("20060102")
}

// timeKey pads v (clamped to 0…9999999999999 ms, the years 1970…2286) to 13 digits.
func timeKey(v int64) string {
	return fmt.Sprintf("%013d", min(max(v, 0), 9999999999999))
}

// AuditDomains returns every domain that has a chain, "" included when it has one, sorted.
func (s *Store) AuditDomains(ctx context.Context) ([]string, error) {
	ds, err := s.cmd.SMembers(ctx, s.key("ad")).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	slices.Sort(ds)
	return ds, nil
}

// TrimAudit removes the domain's oldest events while their Time is before before, and keeps
// the hash of the newest removed one as the anchor. Each step (up to auditPageSize events)
// is one script that also checks no other trimmer moved the chain's start; the chain is
// only ever cut at its oldest end, so an event older than before that follows a newer one
// (clock skew between replicas) stays until everything before it goes: the kept chain
// always verifies from the anchor. The script also removes the events from their day
// partitions of the all-domains index and drops a partition (and its day) left empty.
func (s *Store) TrimAudit(ctx context.Context, domain string, before time.Time) (int, error) {
	total := 0
	for conflicts := 0; conflicts < 10; {
		page, err := s.auditPage(ctx, domain, "", auditPageSize, 'a')
		if err != nil {
			return total, err
		}
		args := []any{domain, "", "", ""}
		for _, it := range page {
			if it.json == "" {
				break
			}
			e, err := decodeEvent(it.json)
			if err != nil {
				return total, corrupt("audit event", err)
			}
			t, err := time.Parse(time.RFC3339Nano, e.Time)
			if err != nil || !t.Before(before) {
				break
			}
			m := allMember(e.Time, it.pos, domain)
			args[3] = e.Hash
			args = append(args, dayKey(m), m)
		}
		n := (len(args) - 4) / 2
		if n == 0 {
			return total, nil
		}
		args[1], args[2] = page[0].pos, page[n-1].pos
		st, _, err := s.run(ctx, s.sc.trimAudit, nil, args...)
		if err != nil {
			return total, err
		}
		if st == "conflict" {
			conflicts++
			continue
		}
		if err := okOr(st); err != nil {
			return total, err
		}
		total += n
		if n < len(page) {
			return total, nil
		}
	}
	return total, store.ErrConflict
}

// allMember is the all-domains index member (held by the partition of its day, dayKey) of
// the event of domain with sequence number seq.
func allMember(eventTime, seq, domain string) string {
	n, _ := strconv.ParseInt(seq, 10, 64)
	return fmt.Sprintf("%s:%016d:%s", eventTimeKey(eventTime), n, domain)
}

// auditItem is one event of a page: its position (the sequence number in its domain's
// chain, or its all-domains index member) and its JSON ("" for a hole left by a concurrent
// trim).
type auditItem struct {
	pos  string
	json string
}

// auditPage reads up to n events of one domain from sequence number from ("" = the newest
// for dir 'd', the oldest for 'a'), in direction dir.
func (s *Store) auditPage(ctx context.Context, domain, from string, n int, dir byte) ([]auditItem, error) {
	v, err := s.sc.auditPage.Run(ctx, s.cmd, []string{s.base}, domain, from, n, string(dir)).Slice()
	if err != nil {
		return nil, unavailable(err)
	}
	return auditItems(v), nil
}

// auditPageAll reads up to n events of the all-domains index between the lex bounds hi and
// lo ('+', '-', or '(' or '[' followed by a member or a time key), newest first (dir 'd') or
// oldest first ('a'), walking the day partitions from the day of hi down to the day of lo.
func (s *Store) auditPageAll(ctx context.Context, hi, lo string, n int, dir byte) ([]auditItem, error) {
	dhi, dlo := "+", "-"
	if hi != "+" {
		dhi = "[" + dayKey(hi[1:])
	}
	if lo != "-" {
		dlo = "[" + dayKey(lo[1:])
	}
	v, err := s.sc.auditPageAll.Run(ctx, s.cmd, []string{s.base}, hi, lo, n, string(dir), dhi, dlo).Slice()
	if err != nil {
		return nil, unavailable(err)
	}
	return auditItems(v), nil
}

func auditItems(v []any) []auditItem {
	out := make([]auditItem, 0, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		out = append(out, auditItem{pos: str(v[i]), json: str(v[i+1])})
	}
	return out
}
