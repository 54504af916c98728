package broker_test

import (
	"net/url"
	"sync"
	"testing"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// TestReplicas_FlowSpansBrokers_RevocationSeenEverywhere: two brokers on one store (SPEC §10
// stateless replicas): a request authorized on one is approved on the other, its code
// redeemed on the first; a revocation on one is seen at once by the other; concurrent
// audit appends from both keep every chain valid.
func TestReplicas_FlowSpansBrokers_RevocationSeenEverywhere(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		a, b := e.b, e.replica(t)

		p, err := a.Authorize(e.ctx, oaQuery(e.plain), e.meta())
		if err != nil {
			t.Fatal(err)
		}
		signed, err := b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: oaAdminPW, AdminOnly: true, Meta: e.meta()})
		if err != nil {
			t.Fatal(err)
		}
		v, err := a.Consent(e.ctx, p.ID, signed.Cookie)
		if err != nil {
			t.Fatalf("consent on A with a session made on B: %v", err)
		}
		to, err := b.Decide(e.ctx, broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: signed.Cookie, Decision: "approve", Meta: e.meta()})
		if err != nil {
			t.Fatalf("decision on B with a CSRF token made on A: %v", err)
		}
		u, _ := url.Parse(to)
		raw, err := a.Token(e.ctx, broker.TokenRequest{Client: oaBasic(e.plain), Meta: e.meta(),
			Params: map[string]string{"grant_type": "authorization_code", "code": u.Query().Get("code"), "redirect_uri": p.RedirectURI}})
		if err != nil {
			t.Fatalf("redeeming on A: %v", err)
		}
		res := any(raw).(*broker.TokenResponse)
		if _, err := b.Authenticate(e.ctx, res.AccessToken); err != nil {
			t.Fatalf("B does not know A's token: %v", err)
		}
		if err := a.Revoke(e.ctx, broker.RevokeRequest{Client: oaBasic(e.plain), Meta: e.meta(), Params: map[string]string{"sub": res.ServiceAccountID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Authenticate(e.ctx, res.AccessToken); err == nil {
			t.Error("B still accepts a token of a grant revoked on A")
		}
		in, err := b.Introspect(e.ctx, broker.IntrospectRequest{Client: oaBasic(e.plain), Meta: e.meta(), Params: map[string]string{"token": res.RefreshToken}})
		if err != nil || in.Active {
			t.Errorf("B's introspection of the revoked grant's refresh token: %+v, %v", in, err)
		}

		// Both replicas append to the same chains at once.
		var wg sync.WaitGroup
		for i := range 20 {
			r := a
			if i%2 == 1 {
				r = b
			}
			wg.Go(func() {
				if _, err := r.Authorize(e.ctx, oaQuery(e.plain, "login_hint", "example.com"), e.meta()); err != nil {
					t.Errorf("authorize: %v", err)
				}
				_, _ = r.Token(e.ctx, broker.TokenRequest{Client: broker.ClientCredentialsIn{HasBasic: true, BasicID: e.plain.ID, BasicSecret: "x"}, Meta: e.meta(),
					Params: oaBogusCode})
			})
		}
		wg.Wait()
		e.verifyAuditChain(t)
	})
}
