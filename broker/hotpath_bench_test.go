package broker

// In-process hot paths of SPEC §3 and §9 (issue 6 item 5), so a regression shows without a
// server: token hashing, refresh rotation, and the audit recorder under concurrency (where
// group commit matters). See delegated_bench_test.go for mint and signing, scopes/ for scope
// checks, store/*/bench_test.go for the store operations alone.

import (
	"sync/atomic"
	"testing"

	"github.com/enterprise-connect/broker/store"
)

// BenchmarkHashSecret is the storage key of every presented secret, code and token.
func BenchmarkHashSecret(b *testing.B) {
	s := newSecret()
	b.ReportAllocs()
	for b.Loop() {
		_ = HashSecret(s)
	}
}

// BenchmarkToken_Refresh is one refresh_token grant without HTTP: client authentication
// (cached), the one-step rotation, the audit event.
func BenchmarkToken_Refresh(b *testing.B) {
	dtBenchStores(b, func(b *testing.B, s store.Store) {
		e := dtNewEnv(b, s)
		rt := e.grant(e.full, dtGrantOpts{}).Refresh
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			res, err := e.b.Token(e.ctx, TokenRequest{Params: map[string]string{"grant_type": GrantRefreshToken, "refresh_token": rt},
				Client: e.full.basic(), Meta: e.meta()})
			if err != nil {
				b.Fatal(err)
			}
			rt = res.(*TokenResponse).RefreshToken
		}
	})
}

// BenchmarkRecorder_Parallel appends one event per call from many goroutines to one
// domain's chain: the shape of a burst of mints, where group commit turns N appends into a
// few store calls.
func BenchmarkRecorder_Parallel(b *testing.B) {
	dtBenchStores(b, func(b *testing.B, s store.Store) {
		r := NewRecorder(s, nil)
		var n atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ev := Event{Type: EvDelegatedMinted, Domain: "bench.example", ClientID: "cli_bench", GrantID: "ser_bench",
					Actor: "ser_bench", Subject: "alice@bench.example", Scope: "read_only", IP: dtIP, RequestID: "req"}
				if err := r.Record(b.Context(), ev); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
	})
}
