package broker

// SPEC §4 batch mint: order, isolation of failures, size limits, constant store cost, audit.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/store"
)

func TestDelegated_MintBatch_KeepsOrderAndIsolatesFailures(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	c := e.caller(sa.Access)
	reqs := []MintRequest{
		{Sub: "alice@example.com", Scope: "read_only"},
		{Sub: "nobody@example.com"},
		{Sub: "bob@example.com", Scope: "read_everything"},
		{Sub: "room-1@example.com", Scope: "free_busy"},
		{Sub: ""},
		{Sub: "carol@other.org"},
		{Sub: "bob@example.com", Scope: "read_directory"},
		{Sub: "admin@example.com"},
		{Sub: "bob@example.com"},
	}
	wantCodes := []string{"", "invalid_subject", "invalid_scope", "", "invalid_request", "invalid_subject", "invalid_scope", "invalid_subject", ""}
	outs, err := e.b.MintBatch(e.ctx, c, reqs, e.meta())
	if err != nil {
		t.Fatalf("MintBatch: %v", err)
	}
	if len(outs) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(outs), len(reqs))
	}
	for i, o := range outs {
		if (o.Minted == nil) == (o.Failed == nil) {
			t.Errorf("[%d] exactly one of minted and failed must be set: %+v", i, o)
			continue
		}
		if got := dtOutcomeCode(o); got != wantCodes[i] {
			t.Errorf("[%d] %s: outcome %q, want %q", i, reqs[i].Sub, got, wantCodes[i])
			continue
		}
		if o.Failed != nil {
			if o.Failed.Sub != reqs[i].Sub || o.Failed.ErrorDescription == "" {
				t.Errorf("[%d] failure %+v: want sub %q and an error_description", i, *o.Failed, reqs[i].Sub)
			}
			var keys map[string]any
			_ = json.Unmarshal([]byte(dtJSON(o.Failed)), &keys)
			if got := strings.Join(slices.Sorted(func(yield func(string) bool) {
				for k := range keys {
					if !yield(k) {
						return
					}
				}
			}), ","); got != "error,error_description,sub" {
				t.Errorf("[%d] failure JSON keys %s, want exactly sub,error,error_description", i, got)
			}
			continue
		}
		if o.Minted.Sub != strings.ToLower(reqs[i].Sub) {
			t.Errorf("[%d] minted for %s, want %s (order kept)", i, o.Minted.Sub, reqs[i].Sub)
		}
		if _, claims := dtClaims(t, o.Minted.AccessToken); claims["sub"] != o.Minted.Sub {
			t.Errorf("[%d] JWT sub %v, response sub %s", i, claims["sub"], o.Minted.Sub)
		}
		if in := e.introspect(e.full, o.Minted.AccessToken); !in.Active || in.Sub != o.Minted.Sub {
			t.Errorf("[%d] minted token not active at introspection: %+v", i, in)
		}
	}
	if outs[3].Minted != nil && outs[3].Minted.Kind != "resource" {
		t.Errorf("room-1 minted with kind %q, want resource", outs[3].Minted.Kind)
	}
}

func TestDelegated_MintBatch_Sizes(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	c := e.caller(e.grant(e.full, dtGrantOpts{}).Access)
	if MaxBatch != 1000 {
		t.Errorf("MaxBatch = %d, want 1000 (SPEC §4)", MaxBatch)
	}
	subjects := []string{"alice@example.com", "bob@example.com", "room-1@example.com"}
	batch := func(n int) []MintRequest {
		rs := make([]MintRequest, n)
		for i := range rs {
			rs[i] = MintRequest{Sub: subjects[i%len(subjects)]}
		}
		return rs
	}
	for _, n := range []int{0, 1001, 5000} {
		t.Run(fmt.Sprintf("%d items", n), func(t *testing.T) {
			_, err := e.b.MintBatch(e.ctx, c, batch(n), e.meta())
			dtWantCode(t, err, InvalidRequest)
		})
	}
	t.Run("nil requests", func(t *testing.T) {
		_, err := e.b.MintBatch(e.ctx, c, nil, e.meta())
		dtWantCode(t, err, InvalidRequest)
	})
	for _, n := range []int{1, 1000} {
		t.Run(fmt.Sprintf("%d items", n), func(t *testing.T) {
			outs, err := e.b.MintBatch(e.ctx, c, batch(n), e.meta())
			if err != nil {
				t.Fatalf("MintBatch(%d): %v", n, err)
			}
			seen := map[string]bool{}
			for i, o := range outs {
				if o.Minted == nil {
					t.Fatalf("[%d] not minted: %+v", i, o.Failed)
				}
				if o.Minted.Sub != subjects[i%len(subjects)] {
					t.Fatalf("[%d] sub %s, want %s", i, o.Minted.Sub, subjects[i%len(subjects)])
				}
				if seen[o.Minted.AccessToken] {
					t.Fatalf("[%d] duplicate token", i)
				}
				seen[o.Minted.AccessToken] = true
			}
		})
	}
}

// SPEC §4 / issue: "A batch of 1000 costs a constant number of store round trips". The broker
// runs on a store wrapper that counts every call; authenticating and minting a batch of 1000
// must make exactly the calls a batch of 2 makes.
func TestDelegated_MintBatch_StoreCostDoesNotGrowWithBatch(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		cs := dtCounting(s)
		e := dtNewEnv(t, cs)
		sa := e.grant(e.full, dtGrantOpts{})
		subjects := []string{"alice@example.com", "bob@example.com", "room-1@example.com", "nobody@example.com"}
		run := func(n int) map[string]int {
			rs := make([]MintRequest, n)
			for i := range rs {
				rs[i] = MintRequest{Sub: subjects[i%len(subjects)], Scope: "read_only"}
			}
			e.clock.Advance(2 * time.Second) // past the elevation cache: every batch reads them
			cs.snapshot()
			c, err := e.b.Authenticate(e.ctx, sa.Access)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := e.b.MintBatch(e.ctx, c, rs, e.meta())
			if err != nil {
				t.Fatalf("MintBatch(%d): %v", n, err)
			}
			if outs[0].Minted == nil {
				t.Fatalf("first item not minted: %+v", outs[0].Failed)
			}
			return cs.snapshot()
		}
		run(2) // warm: grant cache, audit chain head, signing keys
		small := run(4)
		large := run(1000)
		t.Logf("store calls: batch of 4 %v, batch of 1000 %v", small, large)
		if diff := cmp.Diff(small, large); diff != "" {
			t.Errorf("store calls per method differ between a batch of 4 and a batch of 1000 (-4 +1000):\n%s", diff)
		}
		total := 0
		for _, n := range large {
			total += n
		}
		if total > 8 {
			t.Errorf("a batch costs %d store calls (%v); SPEC §11 budgets a few round trips", total, large)
		}
	})
}

// The counting wrapper must override every method (else a promoted call goes uncounted and
// the test above proves nothing). Each override counts before it reaches the embedded store;
// with a nil embedded store an un-overridden method panics without counting.
func TestDelegated_CountingStore_CountsEveryMethod(t *testing.T) {
	iface := reflect.TypeFor[store.Store]()
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if m.Name == "Close" {
			continue
		}
		cs := dtCounting(nil)
		fn := reflect.ValueOf(cs).MethodByName(m.Name)
		args := make([]reflect.Value, fn.Type().NumIn())
		for j := range args {
			args[j] = reflect.Zero(fn.Type().In(j))
		}
		func() {
			defer func() { _ = recover() }()
			fn.Call(args)
		}()
		if cs.snapshot()[m.Name] != 1 {
			t.Errorf("dtCountingStore does not count %s", m.Name)
		}
	}
}

// Every minted token has its delegated.minted event with subject and scope (SPEC §9), in
// the domain's chain, with no token in it.
func TestDelegated_Mint_AuditsEveryToken(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		c := e.caller(sa.Access)
		var minted []*Minted
		minted = append(minted, e.mint(sa, "alice@example.com", "read_only"))
		outs, err := e.b.MintBatch(e.ctx, c, []MintRequest{
			{Sub: "bob@example.com", Scope: "free_busy"}, {Sub: "nobody@example.com"},
			{Sub: "room-1@example.com"}, {Sub: "alice@example.com", Scope: "read_contacts"},
		}, e.meta())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			if o.Minted != nil {
				minted = append(minted, o.Minted)
			}
		}
		if len(minted) != 4 {
			t.Fatalf("%d minted, want 4", len(minted))
		}
		var want, got []string
		for _, m := range minted {
			want = append(want, m.Sub+" | "+m.Scope)
		}
		evs := e.eventsOf(EvDelegatedMinted)
		for _, ev := range evs {
			got = append(got, ev.Subject+" | "+ev.Scope)
			if ev.Domain != "example.com" || ev.ClientID != e.full.ID || ev.GrantID != sa.GrantID || ev.Result != "success" {
				t.Errorf("event %+v: want domain example.com, client %s, grant %s, result success", ev, e.full.ID, sa.GrantID)
			}
			if !strings.HasPrefix(ev.Actor, "ser_") {
				t.Errorf("event actor %q, want the service account", ev.Actor)
			}
			if ev.Hash == "" || ev.PrevHash == "" {
				t.Errorf("event not chained: %+v", ev)
			}
			for _, m := range minted {
				if strings.Contains(dtJSON(ev), m.AccessToken) {
					t.Errorf("audit event holds a delegated token")
				}
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("delegated.minted events (subject | scope), -want +got:\n%s", diff)
		}
	})
}

// A batch large enough to append its audit events while it signs still answers only after
// one delegated.minted event per token is written, in the batch's order.
func TestDelegated_MintBatch_LargeBatchAuditsEveryTokenInOrder(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		subs := []string{"alice@example.com", "bob@example.com", "room-1@example.com"}
		var rs []MintRequest
		for i := range 2*minPerWorker + 3 {
			rs = append(rs, MintRequest{Sub: subs[i%len(subs)]})
		}
		outs, err := e.b.MintBatch(e.ctx, e.caller(sa.Access), rs, e.meta())
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for i, o := range outs {
			if o.Minted == nil {
				t.Fatalf("item %d (%s) failed: %+v", i, rs[i].Sub, o.Failed)
			}
			want = append(want, o.Minted.Sub)
		}
		for _, ev := range e.eventsOf(EvDelegatedMinted) { // newest first
			got = append(got, ev.Subject)
		}
		slices.Reverse(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("delegated.minted subjects, oldest first, -want +got:\n%s", diff)
		}
	})
}

// Replicas minting concurrently for one domain keep one unbroken audit chain with one
// delegated.minted event per token, and no mint fails over the contention (SPEC §9, §10).
func TestDelegated_Mint_ConcurrentReplicasKeepTheAuditChain(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		replicas := []*Broker{e.b, e.replica(), e.replica(), e.replica(), e.replica(), e.replica()}
		const workers, perWorker = 6, 6
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			errs   []error
			minted int
		)
		for _, b := range replicas {
			for range workers {
				wg.Go(func() {
					for range perWorker {
						c, err := b.Authenticate(e.ctx, sa.Access)
						if err == nil {
							_, err = b.MintBatch(e.ctx, c, []MintRequest{{Sub: "alice@example.com"}, {Sub: "bob@example.com"}}, e.meta())
						}
						mu.Lock()
						if err != nil {
							errs = append(errs, err)
						} else {
							minted += 2
						}
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		for _, err := range errs[:min(len(errs), 3)] {
			t.Errorf("concurrent mint failed: %v", err)
		}
		if len(errs) > 0 {
			t.Errorf("%d of %d concurrent batch mints failed", len(errs), len(replicas)*workers*perWorker)
		}
		if n := len(e.eventsOf(EvDelegatedMinted)); n != minted {
			t.Errorf("%d delegated.minted events for %d tokens", n, minted)
		}
		v := audit.NewVerifier(nil)
		if err := e.store.ExportAudit(e.ctx, store.AuditFilter{AllDomains: true}, v.Add); err != nil {
			t.Fatalf("the audit chain does not verify: %v", err)
		}
	})
}
