package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/enterprise-connect/broker/store"
)

// reference is the "few lines of code" an auditor would write: decode to a map, drop hash,
// marshal with sorted keys, no HTML escaping, no escaping of U+2028/U+2029.
func reference(t *testing.T, e store.AuditEvent) string {
	t.Helper()
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "hash")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		var vb strings.Builder
		enc := json.NewEncoder(&vb)
		enc.SetEscapeHTML(false)
		enc.Encode(m[k])
		b.Write(kb)
		b.WriteByte(':')
		// encoding/json escapes U+2028 and U+2029; RFC 8785 does not.
		v := strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029").Replace(strings.TrimSuffix(vb.String(), "\n"))
		b.WriteString(v)
	}
	b.WriteByte('}')
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func TestHash_MatchesIndependentCanonicalisation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    store.AuditEvent
	}{
		{"plain", store.AuditEvent{ID: "evt_1", Time: "2026-11-25T10:00:00.000Z", Type: "token.issued", Domain: "example.com", Result: "success", PrevHash: Genesis}},
		{"html and quotes", store.AuditEvent{ID: "e", Actor: `<a href="x">&'</a>`, Error: "back\\slash"}},
		{"control characters", store.AuditEvent{ID: "e", Error: "tab\tnl\ncr\rbell\x07\x1f"}},
		{"unicode", store.AuditEvent{ID: "e", Subject: "zoë@exämple.com ✓ \u2028"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, want := Hash(tc.e), reference(t, tc.e); got != want {
				t.Fatalf("Hash = %s, independent canonicalisation = %s (canonical %s)", got, want, Canonical(tc.e))
			}
		})
	}
}

func chain(n int) []store.AuditEvent {
	var out []store.AuditEvent
	prev := Genesis
	for i := 0; i < n; i++ {
		e := store.AuditEvent{ID: "evt_" + string(rune('a'+i)), Domain: "example.com", Type: "token.issued", Result: "success", PrevHash: prev}
		e.Hash = Hash(e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func TestVerifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func([]store.AuditEvent) []store.AuditEvent
		wantBad string // id of the first bad event, "" for intact
	}{
		{"intact", func(es []store.AuditEvent) []store.AuditEvent { return es }, ""},
		{"field tampered", func(es []store.AuditEvent) []store.AuditEvent { es[2].Subject = "mallory"; return es }, "evt_c"},
		{"event removed", func(es []store.AuditEvent) []store.AuditEvent { return append(es[:1], es[2:]...) }, "evt_c"},
		{"hash recomputed after tamper", func(es []store.AuditEvent) []store.AuditEvent {
			es[1].Scope = "x"
			es[1].Hash = Hash(es[1])
			return es
		}, "evt_c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := NewVerifier(nil)
			bad := ""
			for _, e := range tc.mutate(chain(5)) {
				if err := v.Add(e); err != nil {
					bad = e.ID
					if !strings.Contains(err.Error(), e.ID) {
						t.Errorf("error %q does not name the event", err)
					}
					break
				}
			}
			if bad != tc.wantBad {
				t.Fatalf("first bad event = %q, want %q", bad, tc.wantBad)
			}
		})
	}
}

func BenchmarkHash(b *testing.B) {
	e := chain(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		Hash(e)
	}
}
