package broker

// Fail closed (STYLE §3, SPEC §9, §10): when the store fails, the §4–§7 operations answer
// temporarily_unavailable (or fail) and hand out nothing; an operation whose audit event
// cannot be written fails. A wrapper embeds the real store and fails one method on demand.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// dtFaultStore is a real store with one method failing (store.ErrUnavailable) while armed.
type dtFaultStore struct {
	store.Store
	mu   sync.Mutex
	fail string // method name; "" = none
}

func (f *dtFaultStore) arm(method string) { f.mu.Lock(); f.fail = method; f.mu.Unlock() }

func (f *dtFaultStore) err(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == method {
		return fmt.Errorf("injected %s failure: %w", method, store.ErrUnavailable)
	}
	return nil
}

func (f *dtFaultStore) LookupAccessToken(ctx context.Context, h string, now time.Time) (store.AccessToken, error) {
	if err := f.err("LookupAccessToken"); err != nil {
		return store.AccessToken{}, err
	}
	return f.Store.LookupAccessToken(ctx, h, now)
}
func (f *dtFaultStore) CheckDelegated(ctx context.Context, c store.DelegatedCheck) (store.DelegatedStatus, error) {
	if err := f.err("CheckDelegated"); err != nil {
		return store.DelegatedStatus{}, err
	}
	return f.Store.CheckDelegated(ctx, c)
}
func (f *dtFaultStore) Elevations(ctx context.Context, g string, subs []string) (map[string][]string, error) {
	if err := f.err("Elevations"); err != nil {
		return nil, err
	}
	return f.Store.Elevations(ctx, g, subs)
}
func (f *dtFaultStore) AppendAudit(ctx context.Context, d, prev string, evs []store.AuditEvent) error {
	if err := f.err("AppendAudit"); err != nil {
		return err
	}
	return f.Store.AppendAudit(ctx, d, prev, evs)
}
func (f *dtFaultStore) EnqueueDeliveries(ctx context.Context, ds []store.Delivery) error {
	if err := f.err("EnqueueDeliveries"); err != nil {
		return err
	}
	return f.Store.EnqueueDeliveries(ctx, ds)
}
func (f *dtFaultStore) AddElevations(ctx context.Context, g, s string, cals []string) error {
	if err := f.err("AddElevations"); err != nil {
		return err
	}
	return f.Store.AddElevations(ctx, g, s, cals)
}
func (f *dtFaultStore) UseOnce(ctx context.Context, key string, exp, now time.Time) error {
	if err := f.err("UseOnce"); err != nil {
		return err
	}
	return f.Store.UseOnce(ctx, key, exp, now)
}
func (f *dtFaultStore) DenyJTI(ctx context.Context, jti string, exp time.Time) error {
	if err := f.err("DenyJTI"); err != nil {
		return err
	}
	return f.Store.DenyJTI(ctx, jti, exp)
}

func TestDelegated_StoreFailures_FailClosed(t *testing.T) {
	fs := &dtFaultStore{Store: dtOpenMiniredis(t)}
	e := dtNewEnv(t, fs)
	sa := e.grant(e.full, dtGrantOpts{})
	e.grant(e.jwtc, dtGrantOpts{})
	jwtTok := e.mint(sa, "alice@example.com", "").AccessToken
	saCaller := e.caller(sa.Access)
	delCaller := e.caller(jwtTok)
	rcv := "https://cb.example/x"

	tests := []struct {
		method string
		call   func() (any, error)
	}{
		{"LookupAccessToken", func() (any, error) { return e.b.Authenticate(e.ctx, sa.Access) }},
		{"CheckDelegated", func() (any, error) { return e.b.Authenticate(e.ctx, jwtTok) }},
		{"CheckDelegated", func() (any, error) {
			in, err := e.b.Introspect(e.ctx, IntrospectRequest{Params: map[string]string{"token": jwtTok}, Client: e.full.basic()})
			if err == nil && !in.Active {
				return nil, nil // an outage must not read as "revoked" either; see below
			}
			return in, err
		}},
		// Subjects whose elevations this replica has not read yet (alice's are cached for
		// a second by the mint above).
		{"Elevations", func() (any, error) {
			return e.b.MintOne(e.ctx, saCaller, MintRequest{Sub: "bob@example.com"}, e.meta())
		}},
		{"Elevations", func() (any, error) {
			return e.b.MintBatch(e.ctx, saCaller, []MintRequest{{Sub: "room-1@example.com"}, {Sub: "bob@example.com"}}, e.meta())
		}},
		{"AppendAudit", func() (any, error) {
			return e.b.MintOne(e.ctx, saCaller, MintRequest{Sub: "alice@example.com"}, e.meta())
		}},
		{"AppendAudit", func() (any, error) {
			return e.b.MintBatch(e.ctx, saCaller, []MintRequest{{Sub: "alice@example.com"}}, e.meta())
		}},
		{"AppendAudit", func() (any, error) { // a batch large enough to append while it signs
			rs := slices.Repeat([]MintRequest{{Sub: "alice@example.com"}}, 2*minPerWorker)
			return e.b.MintBatch(e.ctx, saCaller, rs, e.meta())
		}},
		{"AppendAudit", func() (any, error) {
			return e.jwtBearer(e.dtAssertion(e.jwtc, "EdDSA", "alice@example.com", nil), nil)
		}},
		{"UseOnce", func() (any, error) {
			return e.jwtBearer(e.dtAssertion(e.jwtc, "EdDSA", "alice@example.com", nil), nil)
		}},
		{"EnqueueDeliveries", func() (any, error) {
			return nil, e.b.RequestSubjectAuthorizations(e.ctx, saCaller, []SubjectAuthorization{dtAuthz("alice@example.com", "", rcv, "")}, e.meta())
		}},
		{"AddElevations", func() (any, error) {
			return e.b.RequestPermissions(e.ctx, delCaller, dtPerms(dtRedirect, "cal_alice_1"), e.meta())
		}},
		{"AppendAudit", func() (any, error) {
			return e.b.RequestPermissions(e.ctx, delCaller, dtPerms(dtRedirect, "cal_alice_2"), e.meta())
		}},
		{"DenyJTI", func() (any, error) {
			return nil, e.b.Revoke(e.ctx, RevokeRequest{Params: map[string]string{"token": jwtTok}, Client: e.full.basic()})
		}},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%d %s fails", i, tc.method), func(t *testing.T) {
			fs.arm(tc.method)
			defer fs.arm("")
			res, err := tc.call()
			if err == nil {
				t.Fatalf("the operation succeeded (%T) while %s failed", res, tc.method)
			}
			var be *Error
			if !errors.As(err, &be) || (be.Code != TemporarilyUnavailable && be.Code != ServerError) {
				t.Fatalf("got %v, want temporarily_unavailable (503) while the store is down", err)
			}
			if be.Code != TemporarilyUnavailable {
				t.Errorf("got %s, want temporarily_unavailable for an unreachable store (SPEC §10)", be.Code)
			}
		})
	}
	t.Run("nothing leaked", func(t *testing.T) {
		if n := e.pending(); n != 0 {
			t.Errorf("%d deliveries queued", n)
		}
		if claim, _, _ := e.unrestricted(sa, "alice@example.com"); slices.Contains(claim, "cal_alice_1") {
			t.Errorf("elevated %v although AddElevations failed", claim)
		}
		if !e.introspect(e.full, jwtTok).Active {
			t.Errorf("a failed revocation revoked the token")
		}
	})
}

// A delivery whose callback.delivered event cannot be written is not acknowledged: it comes
// back once its lease ends (at least once, SPEC §5).
func TestDelegated_SubjectAuth_UnauditedDeliveryIsRetried(t *testing.T) {
	fs := &dtFaultStore{Store: dtOpenMiniredis(t)}
	e := dtNewEnv(t, fs)
	sa := e.grant(e.full, dtGrantOpts{})
	rcv := e.receiver(nil)
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz("alice@example.com", "", rcv.URL(), "s")}, e.meta()); err != nil {
		t.Fatal(err)
	}
	fs.arm("AppendAudit")
	e.b.deliverOne(e.ctx)
	fs.arm("")
	if e.pending() != 1 {
		t.Fatalf("an unaudited delivery was dropped")
	}
	e.clock.Advance(deliveryLease + time.Second)
	e.deliverAll()
	if e.pending() != 0 || len(e.eventsOf(EvCallbackDelivered)) != 1 || len(rcv.calls()) != 2 {
		t.Errorf("queued %d, delivered events %d, calls %d; want 0, 1, 2", e.pending(), len(e.eventsOf(EvCallbackDelivered)), len(rcv.calls()))
	}
}

// SPEC §9: "Writing the event is part of the operation: if it fails, the operation fails."
// An elevation whose permission.elevated event cannot be written must not take effect: the
// caller is told it failed, so later tokens must not carry the calendar either (else the
// audit trail misses an unrestricted grant of access). Both §7 paths: at once, and accepted
// on the page.
func TestDelegated_Permissions_UnauditedElevationTakesNoEffect(t *testing.T) {
	fs := &dtFaultStore{Store: dtOpenMiniredis(t)}
	e := dtNewEnv(t, fs)

	t.Run("accepted at once", func(t *testing.T) {
		sa := e.grant(e.full, dtGrantOpts{})
		c := e.caller(e.mint(sa, "alice@example.com", "").AccessToken)
		fs.arm("AppendAudit")
		_, err := e.b.RequestPermissions(e.ctx, c, dtPerms(dtRedirect, "cal_alice_2"), e.meta())
		fs.arm("")
		if err == nil {
			t.Fatal("RequestPermissions succeeded without its audit event")
		}
		if claim, in, _ := e.unrestricted(sa, "alice@example.com"); claim != nil || len(in) != 0 {
			t.Errorf("the request failed (%v), yet later tokens carry unrestricted_calendars %v (introspection %v) and no permission.elevated event records it",
				err, claim, in)
		}
	})
	t.Run("accepted on the page", func(t *testing.T) {
		sa := e.grant(e.full, dtGrantOpts{Scope: dtAccountsManage})
		ans, err := e.b.RequestPermissions(e.ctx, e.caller(e.mint(sa, "alice@example.com", "").AccessToken), dtPerms(dtRedirect, "cal_alice_1"), e.meta())
		if err != nil {
			t.Fatal(err)
		}
		id := ans.PermissionsRequest.URL[len(dtIssuer+"/permissions/"):]
		cookie := e.signIn("alice@example.com", dtAlicePW, false)
		v, err := e.b.PermissionsPage(e.ctx, id, cookie)
		if err != nil {
			t.Fatal(err)
		}
		fs.arm("AppendAudit")
		_, err = e.b.DecidePermissions(e.ctx, PermissionDecision{RequestID: id, CSRF: v.CSRF, Cookie: cookie, Decision: "accept", Meta: e.meta()})
		fs.arm("")
		if err == nil {
			t.Fatal("DecidePermissions succeeded without its audit event")
		}
		if claim, _, _ := e.unrestricted(sa, "alice@example.com"); claim != nil {
			t.Errorf("the acceptance failed (%v), yet later tokens carry unrestricted_calendars %v and no permission.elevated event records it", err, claim)
		}
	})
	if n := len(e.eventsOf(EvPermissionElevated)); n != 0 {
		t.Errorf("%d permission.elevated events", n)
	}
}
