package broker

// The audit recorder (SPEC §9) under concurrency: group commit, appends in flight on a
// pipelining store, two replicas on one chain, and an append failing while later ones are
// in flight.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/redis"
)

// rlReplicaStores runs fn with two stores on one backend, as two replicas (or a replica and
// the CLI) see it: the same embedded file, the same miniredis, the same real Redis prefix.
func rlReplicaStores(t *testing.T, fn func(t *testing.T, a, b store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "broker.db")
		fn(t, rlEmbedded(t, path), rlEmbedded(t, path))
	})
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		m := miniredis.RunT(t)
		fn(t, rlRedis(t, "redis://"+m.Addr(), ""), rlRedis(t, "redis://"+m.Addr(), ""))
	})
	t.Run("redis", func(t *testing.T) {
		u := os.Getenv("REDIS_URL")
		if u == "" {
			t.Log("REDIS_URL is not set: real Redis not exercised")
			return
		}
		t.Parallel()
		prefix := "rltest" + dtRandHex(6)
		a, b := rlRedis(t, u, prefix), rlRedis(t, u, prefix)
		t.Cleanup(func() { rlDeletePrefix(t, u, prefix) })
		fn(t, a, b)
	})
}

func rlEmbedded(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("embedded.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rlRedis(t *testing.T, url, prefix string) *redis.Store {
	t.Helper()
	s, err := redis.Open(context.Background(), url, redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("redis.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rlDeletePrefix(t *testing.T, url, prefix string) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("cleanup of %s: %v", prefix, err)
			return
		}
	}
}

// rlEventIDs returns the ids of domain's chain, oldest first.
func rlEventIDs(t *testing.T, s store.Audit, domain string) []string {
	t.Helper()
	var ids []string
	err := s.ExportAudit(context.Background(), store.AuditFilter{Domain: domain}, func(e store.AuditEvent) error {
		ids = append(ids, e.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("ExportAudit: %v", err)
	}
	return ids
}

func rlEvent(id string) Event {
	return Event{ID: id, Type: EvDelegatedMinted, Domain: "chain.example", ClientID: "cli_rl",
		GrantID: "ser_rl", Subject: "alice@chain.example", Scope: "read_only"}
}

// TestRecorder_TwoReplicasManyCallers_OneIntactChain: callers on two recorders of one store
// (group commit and, on Redis, appends in flight inside each; ErrConflict between them)
// append every event exactly once to one chain that verifies.
func TestRecorder_TwoReplicasManyCallers_OneIntactChain(t *testing.T) {
	t.Parallel()
	rlReplicaStores(t, func(t *testing.T, a, b store.Store) {
		recs := []*Recorder{NewRecorder(a, nil), NewRecorder(b, nil)}
		const callers, each = 24, 10
		var wg sync.WaitGroup
		errs := make(chan error, callers*each)
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := recs[c%2].Record(t.Context(), rlEvent(fmt.Sprintf("evt_%d_%d", c, i))); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Record: %v", err)
		}
		n, err := VerifyDomain(t.Context(), a, "chain.example")
		if err != nil || n != callers*each {
			t.Fatalf("VerifyDomain = %d, %v; want %d events, intact", n, err, callers*each)
		}
		seen := map[string]bool{}
		for _, id := range rlEventIDs(t, b, "chain.example") {
			if seen[id] {
				t.Errorf("event %s stored twice", id)
			}
			seen[id] = true
		}
		for c := range callers {
			for i := range each {
				if id := fmt.Sprintf("evt_%d_%d", c, i); !seen[id] {
					t.Errorf("event %s missing", id)
				}
			}
		}
	})
}

// rlPipeFault is a real Redis store whose failAt-th submitted append fails without being
// sent, once the append submitted after it is in flight: a lost connection in the middle
// of a pipeline.
type rlPipeFault struct {
	*redis.Store
	failAt  int32
	submits atomic.Int32
	next    chan struct{} // closed when the append after the failing one is submitted
}

func (p *rlPipeFault) SubmitAudit(ctx context.Context, domain, prev string, evs []store.AuditEvent) func() error {
	n := p.submits.Add(1)
	switch n {
	case p.failAt:
		return func() error {
			select {
			case <-p.next:
			case <-time.After(5 * time.Second):
			}
			return fmt.Errorf("%w: connection lost (injected)", store.ErrUnavailable)
		}
	case p.failAt + 1:
		defer close(p.next)
	}
	return p.Store.SubmitAudit(ctx, domain, prev, evs)
}

// TestRecorder_AppendFailsWithLaterOneInFlight: the failing append's caller gets the store's
// error and its event is not in the chain; the append chained on it, already in flight,
// conflicts, is chained again on the re-read head and succeeds: the chain verifies.
func TestRecorder_AppendFailsWithLaterOneInFlight(t *testing.T) {
	t.Parallel()
	dtFastStores(t, func(t *testing.T, s store.Store) {
		p := &rlPipeFault{Store: s.(*redis.Store), failAt: 2, next: make(chan struct{})}
		rec := NewRecorder(p, nil)
		ctx := t.Context()
		if err := rec.Record(ctx, rlEvent("evt_first")); err != nil {
			t.Fatal(err)
		}
		failed := make(chan error, 1)
		go func() { failed <- rec.Record(ctx, rlEvent("evt_lost")) }()
		for p.submits.Load() < 2 { // the failing append is submitted, not answered
			time.Sleep(time.Millisecond)
		}
		if err := rec.Record(ctx, rlEvent("evt_after")); err != nil {
			t.Errorf("Record after the failed append: %v, want it retried and stored", err)
		}
		if err := <-failed; !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Record of the failed append: %v, want ErrUnavailable", err)
		}
		if got := p.submits.Load(); got != 4 {
			t.Errorf("%d appends submitted, want 4 (first, lost, after on the lost head, after again)", got)
		}
		n, err := VerifyDomain(ctx, s, "chain.example")
		if err != nil || n != 2 {
			t.Fatalf("VerifyDomain = %d, %v; want 2 events, intact", n, err)
		}
		if ids := rlEventIDs(t, s, "chain.example"); fmt.Sprint(ids) != "[evt_first evt_after]" {
			t.Errorf("chain = %v, want [evt_first evt_after]", ids)
		}
		// The recorder goes on from the re-read head.
		if err := rec.Record(ctx, rlEvent("evt_last")); err != nil {
			t.Fatal(err)
		}
		if n, err := VerifyDomain(ctx, s, "chain.example"); err != nil || n != 3 {
			t.Errorf("VerifyDomain = %d, %v; want 3 events, intact", n, err)
		}
	})
}
