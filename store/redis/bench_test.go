package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Store hot paths (SPEC §11). Against REDIS_URL when set (a random prefix, cleaned up),
// else miniredis, whose numbers only compare allocations and relative cost.
//
//	REDIS_URL=redis://127.0.0.1:6379 go test -run '^$' -bench . ./store/redis/

func benchStore(b *testing.B) *Store {
	b.Helper()
	if url := realURL(b); url != "" {
		return openReal(b, url, randomPrefix(b))
	}
	_, s := openMini(b)
	return s
}

func BenchmarkConsumeCode(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	hashes := make([]string, b.N)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("%064x", i)
		must(b, s.PutCode(ctx, store.Code{Hash: hashes[i], ClientID: "cli_1", RedirectURI: "https://app.example/cb",
			GrantID: "ser_1", Domain: "example.com", FamilyID: "fam_" + hashes[i][:8], ExpiresAt: now.Add(5 * time.Minute)}))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeCode(ctx, hashes[i], now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedeemCode is a redemption's store step: the code consumed and the token pair
// stored in one script (redeem_code.lua).
func BenchmarkRedeemCode(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	_, err := s.CreateGrant(ctx, store.Grant{ID: "ser_1", ClientID: "cli_1", Domain: "example.com", ApprovedAt: now,
		Scope: "service_account/accounts/manage service_account/resources/manage", DelegatedScope: "read_events read_free_busy"})
	must(b, err)
	hashes := make([]string, b.N)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("%064x", i)
		must(b, s.PutCode(ctx, store.Code{Hash: hashes[i], ClientID: "cli_1", RedirectURI: "https://app.example/cb",
			RedirectURIGiven: true, GrantID: "ser_1", Domain: "example.com", FamilyID: "fam_" + hashes[i][:12],
			Scope: "service_account/accounts/manage", ExpiresAt: now.Add(5 * time.Minute)}))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_, issued, err := s.RedeemCode(ctx, hashes[i], now, store.CodeRedemption{ClientID: "cli_1", RedirectURIGiven: true,
			RedirectURI: "https://app.example/cb", IssuedAt: now, AccessHash: "a" + hashes[i],
			AccessExpiresAt: now.Add(time.Hour), RefreshHash: "r" + hashes[i]})
		if err != nil || !issued {
			b.Fatalf("RedeemCode: issued %v, %v", issued, err)
		}
	}
}

func BenchmarkLookupAccessToken(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	_, err := s.CreateGrant(ctx, store.Grant{ID: "ser_1", ClientID: "cli_1", Domain: "example.com", ApprovedAt: now})
	must(b, err)
	fam := store.Family{ID: "fam_1", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com", Kind: store.KindServiceAccount, Subject: "ser_1"}
	must(b, s.IssueTokens(ctx, fam, &store.AccessToken{Hash: "at1", FamilyID: "fam_1", GrantID: "ser_1", ClientID: "cli_1",
		Domain: "example.com", Kind: store.KindServiceAccount, Subject: "ser_1", Scope: "service_account/accounts/manage",
		DelegatedScope: "list_calendars read_account read_events read_free_busy", IssuedAt: now, ExpiresAt: now.Add(30 * time.Minute)}, nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.LookupAccessToken(ctx, "at1", now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	benchAppendAudit(b, benchStore(b), "2026-11-25T10:00:00.000Z")
}

// BenchmarkAppendAudit_OtherDaysStored: an append costs what its day holds, not what the
// store retains (the all-domains index has one partition per UTC day, see doc.go), so
// stored=0 and a long history on the 90 days before today should measure the same.
func BenchmarkAppendAudit_OtherDaysStored(b *testing.B) {
	for _, stored := range []int{0, 300_000} {
		b.Run(fmt.Sprintf("stored=%d", stored), func(b *testing.B) {
			s := benchStore(b)
			now := time.Now().UTC()
			from, span := now.Add(-90*24*time.Hour), 89*24*time.Hour // up to yesterday
			prev := ""
			for done := 0; done < stored; {
				batch := make([]store.AuditEvent, 0, min(1000, stored-done))
				for len(batch) < cap(batch) {
					i := done + len(batch)
					e := store.AuditEvent{ID: fmt.Sprintf("evt_h%d", i), Type: "delegated.minted", Domain: "history.example",
						Time:     from.Add(span / time.Duration(stored) * time.Duration(i)).Format("2006-01-02T15:04:05.000Z07:00"),
						PrevHash: prev, Hash: fmt.Sprintf("%064x", i)}
					batch, prev = append(batch, e), e.Hash
				}
				must(b, s.AppendAudit(b.Context(), "history.example", batch[0].PrevHash, batch))
				done += len(batch)
			}
			benchAppendAudit(b, s, now.Format("2006-01-02T15:04:05.000Z07:00"))
		})
	}
}

// benchAppendAudit measures appending one event at a time to example.com's chain, every
// event at the given time.
func benchAppendAudit(b *testing.B, s *Store, when string) {
	ctx := b.Context()
	prev := ""
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := store.AuditEvent{ID: fmt.Sprintf("evt_%d", i), Time: when, Type: "code.redeemed",
			Domain: "example.com", ClientID: "cli_1", GrantID: "ser_1", Actor: "cli_1", Result: "success",
			IP: "192.0.2.1", RequestID: "req", PrevHash: prev, Hash: fmt.Sprintf("%064x", i)}
		if err := s.AppendAudit(ctx, "example.com", prev, []store.AuditEvent{e}); err != nil {
			b.Fatal(err)
		}
		prev = e.Hash
		i++
	}
}

// BenchmarkConsumeCodeParallel measures throughput with many concurrent redemptions, the
// shape of SPEC §11's load.
func BenchmarkConsumeCodeParallel(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	hashes := make([]string, b.N)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("%064x", i)
		must(b, s.PutCode(ctx, store.Code{Hash: hashes[i], ExpiresAt: now.Add(5 * time.Minute)}))
	}
	next := make(chan string, len(hashes))
	for _, h := range hashes {
		next <- h
	}
	close(next)
	b.ReportAllocs()
	b.SetParallelism(32) // 32 goroutines per CPU: many requests in flight, as under load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.ConsumeCode(ctx, <-next, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
