package embedded_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// The hot paths of SPEC §11 on the embedded store: one code redemption, one token
// introspection, one audit event per request.

func BenchmarkConsumeCode(b *testing.B) {
	ctx := b.Context()
	s, _ := openTemp(b)
	exp := t0.Add(time.Hour)
	hashes := make([]string, 0, b.N)
	for i := range b.N {
		h := "code-" + strconv.Itoa(i)
		if err := s.PutCode(ctx, testCode(h, exp)); err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeCode(ctx, hashes[i], t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupAccessToken(b *testing.B) {
	ctx := b.Context()
	s, _ := openTemp(b)
	if _, err := s.CreateGrant(ctx, testGrant("ser_1", "cli_1", "example.com", t0)); err != nil {
		b.Fatal(err)
	}
	fam := store.Family{ID: "fam_1", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com",
		Kind: store.KindServiceAccount, Subject: "ser_1"}
	const tokens = 1000
	for i := range tokens {
		a := store.AccessToken{Hash: "at-" + strconv.Itoa(i), FamilyID: "fam_1", GrantID: "ser_1",
			ClientID: "cli_1", Domain: "example.com", Kind: store.KindServiceAccount,
			Subject: "ser_1", Scope: "s", DelegatedScope: "d", IssuedAt: t0,
			ExpiresAt: t0.Add(30 * time.Minute)}
		if err := s.IssueTokens(ctx, fam, &a, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.LookupAccessToken(ctx, "at-"+strconv.Itoa(i%tokens), t0); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkAppendAudit(b *testing.B) {
	ctx := b.Context()
	s, _ := openTemp(b)
	const d = "example.com"
	head := ""
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h := strconv.Itoa(i)
		ev := testEvent(d, "evt_"+h, head, "hash_"+h, t0.Add(time.Duration(i)*time.Millisecond))
		if err := s.AppendAudit(ctx, d, head, []store.AuditEvent{ev}); err != nil {
			b.Fatal(err)
		}
		head = ev.Hash
	}
}
