package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// oaReAuditTime is SPEC §9's event time: RFC 3339 UTC with milliseconds.
var oaReAuditTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestAudit_FullFlowAndFailures_EventsChainedAndSecretFree runs the admin flow and every
// failure SPEC §9 names, then checks the event types, each event's fields, the hash chains,
// and that no secret, code, token or password the test handled appears in any event.
func TestAudit_FullFlowAndFailures_EventsChainedAndSecretFree(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)

		// The flow.
		f := e.flow(t, e.plain, oaFlowOpts{PKCE: true, Pairs: []string{"login_hint", oaAdminEmail}})
		res := e.redeem(t, e.plain, f)
		flowTypes := oaAuditTypes(e.auditEvents(t))
		for _, typ := range []string{"authorization.requested", "authorization.approved", "code.issued", "code.redeemed", "token.issued"} {
			if flowTypes[typ] == 0 {
				t.Errorf("after a full flow, no %s event (have %v)", typ, flowTypes)
			}
		}

		// Failures.
		if _, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: "wrong " + oaAdminPW, AdminOnly: true, Meta: e.meta()}); err == nil {
			t.Fatal("wrong password signed in")
		}
		if _, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: "nobody@unknown.net", Password: oaAdminPW, Meta: e.meta()}); err == nil {
			t.Fatal("unknown domain signed in")
		}
		if _, err := e.token(broker.ClientCredentialsIn{HasBasic: true, BasicID: e.plain.ID, BasicSecret: e.single.Secret}, oaBogusCode); err == nil {
			t.Fatal("wrong secret authenticated")
		}
		if _, err := e.token(broker.ClientCredentialsIn{ClientID: "cli_unknown", ClientSecret: e.plain.Secret, HasClientSecret: true}, oaBogusCode); err == nil {
			t.Fatal("unknown client authenticated")
		}
		if _, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, f)); err == nil {
			t.Fatal("code reused")
		}
		r2, _ := e.tokens(t, e.single, oaFlowOpts{})
		if _, err := e.refresh(e.single, r2.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.refresh(e.single, r2.RefreshToken); err == nil {
			t.Fatal("refresh replay worked")
		}
		r4, _ := e.tokens(t, e.pkce, oaFlowOpts{})
		if err := e.revoke(e.pkce, map[string]string{"token": r4.AccessToken}); err != nil {
			t.Fatal(err)
		}
		if err := e.revoke(e.pkce, map[string]string{"sub": r4.ServiceAccountID}); err != nil {
			t.Fatal(err)
		}
		e.flow(t, e.jwtc, oaFlowOpts{Decision: "deny"})
		a := e.assertion(t, e.jwtc, "EdDSA", nil)
		if _, err := e.token(oaAssertionCreds(a), oaBogusCode); err == nil {
			t.Fatal("bogus code redeemed")
		}

		evs := e.auditEvents(t)
		types := oaAuditTypes(evs)
		for _, typ := range []string{"signin.failed", "client_auth.failed", "code.reused", "refresh.reused", "token.revoked", "grant.revoked",
			"authorization.denied", "token.refreshed"} {
			if types[typ] == 0 {
				t.Errorf("no %s event after the failures (have %v)", typ, types)
			}
		}
		if types["signin.failed"] < 2 || types["client_auth.failed"] < 2 {
			t.Errorf("signin.failed %d, client_auth.failed %d; want 2 each", types["signin.failed"], types["client_auth.failed"])
		}

		// Each event has its fields in SPEC §9's shape.
		for _, ev := range evs {
			if ev.ID == "" || ev.Hash == "" || len(ev.PrevHash) != 64 || len(ev.Hash) != 64 {
				t.Errorf("event %+v: id/hash/prev_hash malformed", ev)
			}
			if !oaReAuditTime.MatchString(ev.Time) {
				t.Errorf("event %s time %q is not RFC 3339 UTC with milliseconds", ev.Type, ev.Time)
			}
			if ev.Result != "success" && ev.Result != "failure" {
				t.Errorf("event %s result %q", ev.Type, ev.Result)
			}
			switch ev.Type {
			case "signin.failed", "client_auth.failed", "code.reused", "refresh.reused", "authorization.denied":
				if ev.Result != "failure" {
					t.Errorf("event %s result %q, want failure", ev.Type, ev.Result)
				}
			case "code.redeemed", "token.issued", "authorization.approved":
				if ev.Result != "success" || ev.Domain == "" || ev.ClientID == "" || ev.GrantID == "" {
					t.Errorf("event %+v lacks result, domain, client or grant", ev)
				}
			}
			if ev.Type == "signin.failed" && ev.Actor == oaAdminEmail && ev.Domain != "example.com" {
				t.Errorf("signin.failed of %s in domain %q", ev.Actor, ev.Domain)
			}
			if ev.Type == "client_auth.failed" && ev.ClientID == "cli_unknown" && ev.Domain != "" {
				t.Errorf("client_auth.failed of an unknown client in domain %q, want the \"\" chain", ev.Domain)
			}
		}

		// The chains verify from the export, oldest first, and hold every listed event.
		if n := e.verifyAuditChain(t); n != len(evs) {
			t.Errorf("export verified %d events, ListAudit returned %d", n, len(evs))
		}

		// No secret anywhere.
		blob, err := json.Marshal(evs)
		if err != nil {
			t.Fatal(err)
		}
		secrets := e.secrets()
		if len(secrets) < 20 {
			t.Fatalf("only %d secrets recorded; the helper is not collecting them", len(secrets))
		}
		if leaked, ok := oaContainsAny(string(blob), secrets); ok {
			t.Errorf("an audit event contains a secret value %q", leaked)
		}
		for _, h := range []string{broker.HashSecret(res.AccessToken), broker.HashSecret(f.Code), broker.HashSecret(e.plain.Secret)} {
			if leaked, ok := oaContainsAny(string(blob), []string{h}); ok {
				t.Errorf("an audit event contains the storage hash %q of a secret", leaked)
			}
		}
	})
}

// oaFailingAudit is a real store whose AppendAudit fails while fail is set (fault
// injection, STYLE §9).
type oaFailingAudit struct {
	store.Store
	fail atomic.Bool
}

func (f *oaFailingAudit) AppendAudit(ctx context.Context, domain, prevHash string, events []store.AuditEvent) error {
	if f.fail.Load() {
		return fmt.Errorf("injected audit failure: %w", store.ErrUnavailable)
	}
	return f.Store.AppendAudit(ctx, domain, prevHash, events)
}

// oaWantFailClosed fails unless err is temporarily_unavailable or server_error.
func oaWantFailClosed(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded although the audit append failed", what)
	}
	be, ok := err.(*broker.Error)
	if !ok || (be.Code != broker.TemporarilyUnavailable && be.Code != broker.ServerError) {
		t.Fatalf("%s: %v, want temporarily_unavailable or server_error", what, err)
	}
}

// TestAudit_AppendFails_TokenExchangeFailsClosed: writing the event is part of the
// operation (SPEC §9): when the audit append fails, no token comes back.
func TestAudit_AppendFails_TokenExchangeFailsClosed(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		fs := &oaFailingAudit{Store: s}
		e := oaOn(t, fs)
		f := e.flow(t, e.plain, oaFlowOpts{})
		ok, _ := e.tokens(t, e.single, oaFlowOpts{})

		fs.fail.Store(true)
		res, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, f))
		oaWantFailClosed(t, "code exchange", err)
		if res != nil {
			t.Fatalf("a token came back: %+v", res)
		}
		res, err = e.refresh(e.single, ok.RefreshToken)
		oaWantFailClosed(t, "refresh", err)
		if res != nil {
			t.Fatalf("a refreshed token came back: %+v", res)
		}
		_, err = e.authorize(oaQuery(e.plain))
		oaWantFailClosed(t, "authorize", err)

		fs.fail.Store(false)
		// The store is fine again: new flows work without a restart.
		if _, f2 := e.tokens(t, e.plain, oaFlowOpts{}); f2.Code == "" {
			t.Fatal("no code after recovery")
		}
		e.verifyAuditChain(t)
	})
}

// TestAudit_ApprovalFailsOnAudit_NoUnauditedRevocation: when approving fails because the
// audit append fails, the grant it would replace must not end up revoked without a
// grant.revoked event (SPEC §9: every revocation is audited; the operation fails as a whole).
func TestAudit_ApprovalFailsOnAudit_NoUnauditedRevocation(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		fs := &oaFailingAudit{Store: s}
		e := oaOn(t, fs)
		old, _ := e.tokens(t, e.plain, oaFlowOpts{})

		p := e.mustAuthorize(t, oaQuery(e.plain))
		cookie := e.signIn(t, oaAdminEmail, oaAdminPW, true)
		v := e.consent(t, p.ID, cookie)
		fs.fail.Store(true)
		_, err := e.decide(broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "approve"})
		oaWantFailClosed(t, "approval", err)
		fs.fail.Store(false)

		g, err := s.GetGrant(e.ctx, old.ServiceAccountID)
		if err != nil {
			t.Fatal(err)
		}
		if g.Status == store.GrantActive {
			return // nothing happened: fine
		}
		for _, ev := range e.auditEvents(t) {
			if ev.Type == "grant.revoked" && ev.GrantID == old.ServiceAccountID {
				return
			}
		}
		t.Errorf("the failed approval revoked grant %s (its tokens active: %v) and no grant.revoked event records it",
			old.ServiceAccountID, e.active(t, e.plain, old.AccessToken))
	})
}

// TestAudit_EventTimesFollowTheClock: events carry the broker's Now, not the wall clock.
func TestAudit_EventTimesFollowTheClock(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		e.clock.Advance(time.Hour + 123*time.Millisecond)
		e.mustAuthorize(t, oaQuery(e.plain))
		evs := e.auditEvents(t)
		if len(evs) == 0 {
			t.Fatal("no event")
		}
		want := e.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		if evs[0].Time != want {
			t.Errorf("event time %s, want the broker clock's %s", evs[0].Time, want)
		}
	})
}
