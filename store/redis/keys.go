package redis

import (
	"fmt"
	"strconv"
	"time"
)

// Key names after the "<prefix>:{<prefix>}:" base; doc.go describes each. Scripts build
// the same names from KEYS[1]; keep both in step.
const (
	keyClients      = "cl"
	keyAPIKeys      = "ak"
	keyAPIKeyHashes = "akh"
	keyAccountIDs   = "acid"
	keyQueue        = "dq"
)

// key joins the base and parts: s.key("co:", hash) = "ecb:{ecb}:co:<hash>".
func (s *Store) key(parts ...string) string {
	n := len(s.base)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, s.base...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return string(b)
}

// ms is t in Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms, in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// msString parses a millisecond reply field ("" and junk read as 0).
func msString(v any) int64 {
	n, _ := strconv.ParseInt(str(v), 10, 64)
	return n
}

// ttl is the housekeeping TTL in ms for a record that expires at exp: until exp on the wall
// clock plus ttlGrace, and at least ttlGrace (callers may decide expiry with a now far from
// the wall clock, tests do). A zero exp (no expiry) is 0: no TTL.
func (s *Store) ttl(exp time.Time) int64 {
	if exp.IsZero() {
		return 0
	}
	d := max(exp.Sub(s.wall()), 0)
	return (d + ttlGrace).Milliseconds()
}

// lexMember is a grant index member: zero-padded approval ms then id, so that the sorted
// set's lexicographic order is (approved_at, id).
func lexMember(approved time.Time, id string) string {
	v := min(max(ms(approved), 0), 9999999999999)
	return fmt.Sprintf("%013d:%s", v, id)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
