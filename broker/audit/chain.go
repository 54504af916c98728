package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/enterprise-connect/broker/store"
)

// Genesis is the prev_hash of a domain's first event: 64 zeros (SPEC §9).
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeFormat is the event time format: RFC 3339, UTC, milliseconds (SPEC §9).
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Canonical returns the RFC 8785 serialisation of e without its hash member: keys sorted,
// no insignificant whitespace, strings escaped as ECMAScript's JSON.stringify does. Every
// field is a string, so this is the whole of RFC 8785 that applies.
func Canonical(e store.AuditEvent) []byte {
	return appendCanonical(make([]byte, 0, 512), &e)
}

// appendCanonical appends Canonical(*e) to b.
func appendCanonical(b []byte, e *store.AuditEvent) []byte {
	fields := [...]struct{ key, value string }{ // sorted by key
		{`{"actor":`, e.Actor},
		{`,"client_id":`, e.ClientID},
		{`,"domain":`, e.Domain},
		{`,"error":`, e.Error},
		{`,"grant_id":`, e.GrantID},
		{`,"id":`, e.ID},
		{`,"ip":`, e.IP},
		{`,"prev_hash":`, e.PrevHash},
		{`,"request_id":`, e.RequestID},
		{`,"result":`, e.Result},
		{`,"scope":`, e.Scope},
		{`,"subject":`, e.Subject},
		{`,"time":`, e.Time},
		{`,"type":`, e.Type},
	}
	for _, f := range fields {
		b = append(b, f.key...)
		b = store.AppendJSONString(b, f.value)
	}
	return append(b, '}')
}

// Hash returns the hex SHA-256 of Canonical(e).
func Hash(e store.AuditEvent) string {
	var buf [512]byte
	sum := sha256.Sum256(appendCanonical(buf[:0], &e))
	return hex.EncodeToString(sum[:])
}

// Clean makes every field valid UTF-8, so that the event hashes the same before and after a
// JSON round trip (encoding/json replaces invalid bytes with U+FFFD).
func Clean(e *store.AuditEvent) {
	for _, p := range []*string{&e.ID, &e.Time, &e.Type, &e.Domain, &e.ClientID, &e.GrantID,
		&e.Actor, &e.Subject, &e.Scope, &e.Result, &e.Error, &e.IP, &e.RequestID} {
		if !utf8.ValidString(*p) {
			*p = strings.ToValidUTF8(*p, "\uFFFD")
		}
	}
}

// Verifier re-checks a chain event by event, oldest first. The zero value is not ready:
// build it with NewVerifier.
type Verifier struct {
	prev  map[string]string // domain -> expected prev_hash of its next event
	start func(domain string) string
	n     int
}

// NewVerifier returns a Verifier. start gives the prev_hash a domain's first seen event
// must carry (Genesis, or the retention anchor); nil means Genesis for every domain.
func NewVerifier(start func(domain string) string) *Verifier {
	if start == nil {
		start = func(string) string { return Genesis }
	}
	return &Verifier{prev: map[string]string{}, start: start}
}

// Add checks the next event. Events of several domains may interleave; each domain's chain
// is followed on its own. The error names the event and what is wrong.
func (v *Verifier) Add(e store.AuditEvent) error {
	v.n++
	want, ok := v.prev[e.Domain]
	if !ok {
		want = v.start(e.Domain)
		if want == "" {
			want = Genesis
		}
	}
	if got := Hash(e); got != e.Hash {
		return fmt.Errorf("event %d (id %q, domain %q): hash %s does not match its content (recomputed %s): the event was altered", v.n, e.ID, e.Domain, e.Hash, got)
	}
	if e.PrevHash != want {
		return fmt.Errorf("event %d (id %q, domain %q): prev_hash %s, want %s: an event before it was removed or altered", v.n, e.ID, e.Domain, e.PrevHash, want)
	}
	v.prev[e.Domain] = e.Hash
	return nil
}

// Count is how many events Add has seen.
func (v *Verifier) Count() int { return v.n }
