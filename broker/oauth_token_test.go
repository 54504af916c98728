package broker_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// TestToken_CodeExchange_ResponseFields checks SPEC §3's success answer.
func TestToken_CodeExchange_ResponseFields(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		f := e.flow(t, e.plain, oaFlowOpts{Pairs: []string{
			"scope", "service_account/resources/manage service_account/accounts/manage",
			"delegated_scope", "read_events free_busy read_events",
		}})
		res := e.redeem(t, e.plain, f)
		if res.TokenType != "bearer" {
			t.Errorf("token_type %q, want bearer", res.TokenType)
		}
		if res.ExpiresIn != int64(oaAccessTTL.Seconds()) {
			t.Errorf("expires_in %d, want %d", res.ExpiresIn, int64(oaAccessTTL.Seconds()))
		}
		if want := "service_account/accounts/manage service_account/resources/manage"; res.Scope != want {
			t.Errorf("scope %q, want %q", res.Scope, want)
		}
		if want := "list_calendars read_account read_events read_free_busy"; res.DelegatedScope != want {
			t.Errorf("delegated_scope %q, want %q", res.DelegatedScope, want)
		}
		if res.Domain != "example.com" {
			t.Errorf("domain %q, want example.com", res.Domain)
		}
		if !oaReGrantID.MatchString(res.ServiceAccountID) {
			t.Errorf("service_account_id %q does not match %s", res.ServiceAccountID, oaReGrantID)
		}
		if len(res.AccessToken) < 43 || len(res.RefreshToken) < 43 || res.AccessToken == res.RefreshToken {
			t.Errorf("access %d chars, refresh %d chars: want two different ≥ 256-bit tokens", len(res.AccessToken), len(res.RefreshToken))
		}
		in := e.introspect(t, e.plain, res.AccessToken)
		if !in.Active || in.GrantID != res.ServiceAccountID {
			t.Errorf("introspection of the new access token: %+v", in)
		}
	})
}

// TestToken_CodeRedeemedTwice_RevokesFamily: a second redemption is invalid_grant and the
// tokens of the first are dead from then on (SPEC §3).
func TestToken_CodeRedeemedTwice_RevokesFamily(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		f := e.flow(t, e.plain, oaFlowOpts{})
		first := e.redeem(t, e.plain, f)
		if !e.active(t, e.plain, first.AccessToken) || !e.active(t, e.plain, first.RefreshToken) {
			t.Fatal("the first redemption's tokens are not active")
		}
		_, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, f))
		oaWantErrCode(t, err, broker.InvalidGrant)
		if e.active(t, e.plain, first.AccessToken) {
			t.Error("the first redemption's access token is still active after the code was reused")
		}
		if e.active(t, e.plain, first.RefreshToken) {
			t.Error("the first redemption's refresh token is still active after the code was reused")
		}
		_, err = e.refresh(e.plain, first.RefreshToken)
		oaWantErrCode(t, err, broker.InvalidGrant)
		if _, err := e.b.Authenticate(e.ctx, first.AccessToken); err == nil {
			t.Error("the broker's API still accepts the first access token")
		}
	})
}

// TestToken_CodeRedeemedConcurrently_ExactlyOneWins: 50 concurrent redemptions of one code.
func TestToken_CodeRedeemedConcurrently_ExactlyOneWins(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		f := e.flow(t, e.plain, oaFlowOpts{})
		const n = 50
		var (
			wg       sync.WaitGroup
			wins     atomic.Int32
			start    = make(chan struct{})
			mu       sync.Mutex
			failures = map[broker.ErrorCode]int{}
			others   []error
		)
		for range n {
			wg.Go(func() {
				<-start
				_, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, f))
				if err == nil {
					wins.Add(1)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if be, ok := err.(*broker.Error); ok {
					failures[be.Code]++
				} else {
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d of %d concurrent redemptions succeeded, want exactly 1 (failures %v, others %v)", wins.Load(), n, failures, others)
		}
		if failures[broker.InvalidGrant] != n-1 {
			t.Errorf("failures %v %v, want %d invalid_grant", failures, others, n-1)
		}
	})
}

// TestToken_CodeExpired_InvalidGrant: a code lives CodeTTL.
func TestToken_CodeExpired_InvalidGrant(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		f := e.flow(t, e.plain, oaFlowOpts{})
		e.clock.Advance(oaCodeTTL + time.Second)
		_, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, f))
		oaWantErrCode(t, err, broker.InvalidGrant)

		g := e.flow(t, e.plain, oaFlowOpts{})
		e.clock.Advance(oaCodeTTL - 5*time.Second)
		if _, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, g)); err != nil {
			t.Errorf("a code just before its expiry: %v", err)
		}
	})
}

// TestToken_CodeErrors covers the invalid_grant / invalid_request answers of SPEC §3 for
// redirect_uri, PKCE, another client's code and unknown codes.
func TestToken_CodeErrors(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		cases := []struct {
			name   string
			client func() oaClient // who redeems; default the client of the flow
			flowOf func() oaClient
			opts   oaFlowOpts
			edit   func(p map[string]string, f oaFlow)
			want   broker.ErrorCode // "" = success
		}{
			{name: "unknown code", edit: func(p map[string]string, _ oaFlow) { p["code"] = "A0000000000000000000000000000000" }, want: broker.InvalidGrant},
			{name: "code missing", edit: func(p map[string]string, _ oaFlow) { delete(p, "code") }, want: broker.InvalidRequest},
			{name: "code empty", edit: func(p map[string]string, _ oaFlow) { p["code"] = "" }, want: broker.InvalidRequest},
			{name: "other client's code", client: func() oaClient { return e.single }, edit: func(p map[string]string, _ oaFlow) { delete(p, "redirect_uri") },
				want: broker.InvalidGrant},
			{name: "redirect_uri missing when authorize had one", edit: func(p map[string]string, _ oaFlow) { delete(p, "redirect_uri") }, want: broker.InvalidRequest},
			{name: "redirect_uri different", edit: func(p map[string]string, _ oaFlow) { p["redirect_uri"] = e.plain.RedirectURIs[1] }, want: broker.InvalidGrant},
			{name: "redirect_uri trailing slash", edit: func(p map[string]string, _ oaFlow) { p["redirect_uri"] += "/" }, want: broker.InvalidGrant},
			{name: "redirect_uri absent in both", flowOf: func() oaClient { return e.single }, opts: oaFlowOpts{Pairs: []string{"redirect_uri", oaDel}}},
			{name: "redirect_uri only at the token endpoint, equal to the registered one", flowOf: func() oaClient { return e.single },
				opts: oaFlowOpts{Pairs: []string{"redirect_uri", oaDel}},
				edit: func(p map[string]string, _ oaFlow) { p["redirect_uri"] = e.single.RedirectURIs[0] }},
			{name: "redirect_uri only at the token endpoint, different", flowOf: func() oaClient { return e.single },
				opts: oaFlowOpts{Pairs: []string{"redirect_uri", oaDel}},
				edit: func(p map[string]string, _ oaFlow) { p["redirect_uri"] = "https://single.example/other" }, want: broker.InvalidGrant},
			{name: "registered redirect_uri with a query", opts: oaFlowOpts{Pairs: []string{"redirect_uri", "https://plain.example/cb2?tenant=7"}}},
			{name: "registered redirect_uri with a query, query dropped at the token endpoint", opts: oaFlowOpts{Pairs: []string{"redirect_uri", "https://plain.example/cb2?tenant=7"}},
				edit: func(p map[string]string, _ oaFlow) { p["redirect_uri"] = "https://plain.example/cb2" }, want: broker.InvalidGrant},
			{name: "PKCE verifier right", opts: oaFlowOpts{PKCE: true}},
			{name: "PKCE verifier missing", opts: oaFlowOpts{PKCE: true}, edit: func(p map[string]string, _ oaFlow) { delete(p, "code_verifier") }, want: broker.InvalidGrant},
			{name: "PKCE verifier empty", opts: oaFlowOpts{PKCE: true}, edit: func(p map[string]string, _ oaFlow) { p["code_verifier"] = "" }, want: broker.InvalidGrant},
			{name: "PKCE verifier wrong", opts: oaFlowOpts{PKCE: true}, edit: func(p map[string]string, _ oaFlow) {
				v, _ := oaPKCE()
				p["code_verifier"] = v
			}, want: broker.InvalidGrant},
			{name: "PKCE verifier is the challenge", opts: oaFlowOpts{PKCE: true}, edit: func(p map[string]string, f oaFlow) {
				p["code_verifier"] = f.Pending.CodeChallenge
			}, want: broker.InvalidGrant},
			{name: "PKCE verifier without a challenge", edit: func(p map[string]string, _ oaFlow) {
				v, _ := oaPKCE()
				p["code_verifier"] = v
			}, want: broker.InvalidGrant},
			{name: "PKCE-required client, right verifier", flowOf: func() oaClient { return e.pkce }},
			{name: "PKCE-required client, verifier missing", flowOf: func() oaClient { return e.pkce },
				edit: func(p map[string]string, _ oaFlow) { delete(p, "code_verifier") }, want: broker.InvalidGrant},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				owner := e.plain
				if tc.flowOf != nil {
					owner = tc.flowOf()
				}
				redeemer := owner
				if tc.client != nil {
					redeemer = tc.client()
				}
				f := e.flow(t, owner, tc.opts)
				p := oaRedeemParams(owner, f)
				if tc.edit != nil {
					tc.edit(p, f)
				}
				res, err := e.token(oaBasic(redeemer), p)
				if tc.want == "" {
					if err != nil {
						t.Fatalf("redeem: %v", err)
					}
					if res.AccessToken == "" {
						t.Fatal("no access token")
					}
					return
				}
				oaWantErrCode(t, err, tc.want)
				if res != nil {
					t.Errorf("an error came with a token response")
				}
			})
		}
	})
}

// TestToken_GrantTypeErrors: grant_type missing → invalid_request; unknown →
// unsupported_grant_type; refresh_token missing → invalid_request.
func TestToken_GrantTypeErrors(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		cases := []struct {
			name   string
			params map[string]string
			want   broker.ErrorCode
		}{
			{"grant_type missing", map[string]string{"code": "x"}, broker.InvalidRequest},
			{"grant_type empty", map[string]string{"grant_type": ""}, broker.InvalidRequest},
			{"password", map[string]string{"grant_type": "password", "username": "a", "password": "b"}, broker.UnsupportedGrantType},
			{"client_credentials", map[string]string{"grant_type": "client_credentials"}, broker.UnsupportedGrantType},
			{"implicit-ish", map[string]string{"grant_type": "token"}, broker.UnsupportedGrantType},
			{"case differs", map[string]string{"grant_type": "Authorization_Code", "code": "x"}, broker.UnsupportedGrantType},
			{"code missing", map[string]string{"grant_type": "authorization_code"}, broker.InvalidRequest},
			{"refresh_token missing", map[string]string{"grant_type": "refresh_token"}, broker.InvalidRequest},
			{"refresh_token unknown", map[string]string{"grant_type": "refresh_token", "refresh_token": "nope"}, broker.InvalidGrant},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.token(oaBasic(e.plain), tc.params)
				oaWantErrCode(t, err, tc.want)
			})
		}
	})
}

// TestToken_ReApproval_RevokesOldGrantTokens: a new approval for the same (client, domain)
// revokes the old grant and every token minted from it at once; an unredeemed code of the
// old grant is dead too. Another domain's grant of the same client is untouched.
func TestToken_ReApproval_RevokesOldGrantTokens(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		old, _ := e.tokens(t, e.plain, oaFlowOpts{})
		otherDomain, _ := e.tokens(t, e.plain, oaFlowOpts{Email: oaOtherAdminEmail, Password: oaOtherAdminPW})
		pendingCode := e.flow(t, e.plain, oaFlowOpts{}) // approved, not redeemed: replaces old
		fresh, _ := e.tokens(t, e.plain, oaFlowOpts{})  // replaces pendingCode's grant

		if fresh.ServiceAccountID == old.ServiceAccountID {
			t.Fatal("re-approval reused the grant id")
		}
		for name, tok := range map[string]string{"old access": old.AccessToken, "old refresh": old.RefreshToken} {
			if e.active(t, e.plain, tok) {
				t.Errorf("%s token is still active after re-approval", name)
			}
		}
		if _, err := e.refresh(e.plain, old.RefreshToken); err == nil {
			t.Error("the old refresh token still rotates")
		}
		if _, err := e.b.Authenticate(e.ctx, old.AccessToken); err == nil {
			t.Error("the broker's API still accepts the old access token")
		}
		_, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, pendingCode))
		oaWantErrCode(t, err, broker.InvalidGrant)

		if !e.active(t, e.plain, fresh.AccessToken) || !e.active(t, e.plain, fresh.RefreshToken) {
			t.Error("the new grant's tokens are not active")
		}
		if !e.active(t, e.plain, otherDomain.AccessToken) {
			t.Error("re-approval for example.com revoked other.org's grant")
		}
		g, err := s.GetGrant(e.ctx, old.ServiceAccountID)
		if err != nil || g.Status != store.GrantRevoked {
			t.Errorf("old grant: status %q, %v; want revoked", g.Status, err)
		}
	})
}

// TestNew_ZeroTTLs_UseSpecDefaults: Options documents CodeTTL "default 300 s" and
// AccessTokenTTL "default 1800 s"; a broker built without them must use those defaults
// (codes redeemable, expires_in 1800), not zero.
func TestNew_ZeroTTLs_UseSpecDefaults(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s, func(o *broker.Options) { o.CodeTTL, o.AccessTokenTTL = 0, 0 })
		f := e.flow(t, e.plain, oaFlowOpts{})
		e.clock.Advance(time.Second)
		res, err := e.token(oaBasic(e.plain), oaRedeemParams(e.plain, f))
		if err != nil {
			t.Fatalf("a code one second old, CodeTTL unset: %v", err)
		}
		if res.ExpiresIn != 1800 {
			t.Errorf("expires_in %d with AccessTokenTTL unset, want 1800", res.ExpiresIn)
		}
		if !e.active(t, e.plain, res.AccessToken) {
			t.Error("the access token is inactive at once")
		}
	})
}
