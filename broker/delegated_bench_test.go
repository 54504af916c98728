package broker

// Hot paths of SPEC §4 (STYLE §10): single and batch mint in-process, on miniredis and on
// the embedded store, and JWT signing. The bench/ program measures the HTTP scenarios.

import (
	"os"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// dtBenchStores runs the benchmark on miniredis, on the embedded store, and on the Redis of
// REDIS_URL when it is set. miniredis interprets every Lua script with a fresh gopher-lua
// state, so its allocation numbers are mostly miniredis's own; the real-Redis run shows the
// broker's.
func dtBenchStores(b *testing.B, fn func(b *testing.B, s store.Store)) {
	b.Run("miniredis", func(b *testing.B) { fn(b, dtOpenMiniredis(b)) })
	b.Run("embedded", func(b *testing.B) { fn(b, dtOpenEmbedded(b)) })
	if u := os.Getenv("REDIS_URL"); u != "" {
		b.Run("redis", func(b *testing.B) { fn(b, dtOpenRealRedis(b, u)) })
	}
}

// BenchmarkDelegated_MintOne is one POST /v1/delegated_tokens without HTTP: authenticate the
// service-account token, check, sign, audit, record use.
func BenchmarkDelegated_MintOne(b *testing.B) {
	dtBenchStores(b, func(b *testing.B, s store.Store) {
		e := dtNewEnv(b, s)
		sa := e.grant(e.full, dtGrantOpts{})
		m := e.meta()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			c, err := e.b.Authenticate(e.ctx, sa.Access)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.b.MintOne(e.ctx, c, MintRequest{Sub: "alice@example.com", Scope: "read_only"}, m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
}

// BenchmarkDelegated_MintBatch100 is one batch request of 100 subjects.
func BenchmarkDelegated_MintBatch100(b *testing.B) {
	dtBenchStores(b, func(b *testing.B, s store.Store) {
		e := dtNewEnv(b, s)
		sa := e.grant(e.full, dtGrantOpts{})
		subjects := []string{"alice@example.com", "bob@example.com", "room-1@example.com"}
		rs := make([]MintRequest, 100)
		for i := range rs {
			rs[i] = MintRequest{Sub: subjects[i%len(subjects)], Scope: "free_busy"}
		}
		m := e.meta()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			c, err := e.b.Authenticate(e.ctx, sa.Access)
			if err != nil {
				b.Fatal(err)
			}
			outs, err := e.b.MintBatch(e.ctx, c, rs, m)
			if err != nil || outs[99].Minted == nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(rs))/b.Elapsed().Seconds(), "tokens/s")
	})
}

// BenchmarkDelegated_KeyringSign is the signature of one delegated JWT (EdDSA and ES256).
func BenchmarkDelegated_KeyringSign(b *testing.B) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			e := dtNewEnv(b, dtOpenMiniredis(b), func(o *Options) { o.SigningAlgorithm = alg })
			now := e.clock.Now()
			claims := delegatedWire{Issuer: dtIssuer, Subject: "alice@example.com",
				Audience: [1]string{dtIssuer}, ID: "jti_bench", IssuedAt: now.Unix(),
				ExpiresAt: now.Add(10 * time.Minute).Unix(),
				brokerClaims: brokerClaims{ClientID: e.full.ID, Scope: dtReadOnly, Domain: "example.com",
					Kind: "account", GrantID: "ser_bench", Act: Actor{Sub: "ser_bench"}},
			}
			k := e.b.Keys()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := k.Sign(&claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
