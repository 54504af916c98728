package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/enterprise-connect/broker/store"
)

// Opener returns a fresh, empty store for one subtest and registers its cleanup with
// t.Cleanup.
type Opener = func(t *testing.T) store.Store

// Run runs the whole conformance suite against the backend that open creates. Each subtest
// calls open(t) for a store of its own (see the package comment for what open must do).
// Subtests are named "<Role>/<Behaviour>", so `go test -run 'Conformance/Codes/'` runs one
// role. Run returns when every subtest has finished.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Ping", testPing},
		{"Clients", testClients},
		{"APIKeys", testAPIKeys},
		{"Authorizations", testAuthorizations},
		{"Sessions", testSessions},
		{"Codes", testCodes},
		{"Redeem", testRedeem},
		{"Grants", testGrants},
		{"Tokens", testTokens},
		{"Accounts", testAccounts},
		{"Permissions", testPermissions},
		{"RateLimits", testRateLimits},
		{"Audit", testAudit},
		{"Deliveries", testDeliveries},
		{"SigningKeys", testSigningKeys},
	}
	// Each test<Role> function is a list of independent t.Run cases, one per behaviour; its
	// length is that list, not logic.
	for _, g := range groups {
		// Roles run one after the other and their subtests in parallel; t.Run of a
		// non-parallel group returns only after its parallel subtests, so nothing outlives
		// Run (a backend's deferred teardown after Run is safe).
		t.Run(g.name, func(t *testing.T) { g.run(t, open) })
	}
}

func testPing(t *testing.T, open Opener) {
	t.Run("Reachable", func(t *testing.T) {
		ctx, s := fresh(t, open)
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// fresh marks the subtest parallel and opens its own store.
func fresh(t *testing.T, open Opener) (context.Context, store.Store) {
	t.Helper()
	t.Parallel()
	return t.Context(), open(t)
}

// base is the suite's clock; tests move it forward instead of sleeping (STYLE §9).
var base = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// at returns base+d.
func at(d time.Duration) time.Time { return base.Add(d) }

const ms = time.Millisecond

// cmpOptions compare times as instants truncated to the millisecond and treat nil and empty
// slices (and maps) as equal; see the package comment.
var cmpOptions = []cmp.Option{
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Truncate(ms).Equal(b.Truncate(ms))
	}),
	cmpopts.EquateEmpty(),
}

// diff is cmp.Diff(want, got) with cmpOptions plus opts.
func diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append(append([]cmp.Option{}, cmpOptions...), opts...)...)
}

// sameTime reports whether a and b are the same instant at millisecond precision.
func sameTime(a, b time.Time) bool { return a.Truncate(ms).Equal(b.Truncate(ms)) }

// hashOf is the hex SHA-256 of s: the shape of every hash key the broker stores.
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// id returns prefix + 24 base-62 characters derived from name, the shape of the broker's
// ser_/acc_/pro_ ids.
func id(prefix, name string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(prefix + name))
	b := make([]byte, 24)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// race runs fn(0) … fn(n-1) in n goroutines released at the same moment and returns their
// errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts errs: nil ones as wins, the others by sentinel; anything else is reported.
func tally(t *testing.T, errs []error, loser error) (wins, losses int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, loser):
			losses++
		default:
			t.Errorf("goroutine %d: got %v, want nil or %v", i, err, loser)
		}
	}
	return wins, losses
}

// wantErr fails the test unless errors.Is(err, want); want nil means no error.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// must fails the test when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// name formats a short unique name for fixtures.
func name(format string, args ...any) string { return fmt.Sprintf(format, args...) }
