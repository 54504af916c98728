package broker_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// TestAuthorize_ValidationOrder walks SPEC §2's validation: errors about the client or the
// redirect URI are pages (NoRedirect); the others redirect to the redirect URI with error,
// error_description, state and iss.
func TestAuthorize_ValidationOrder(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		_, challenge := oaPKCE()
		plain := e.plain
		cases := []struct {
			name       string
			q          url.Values
			wantCode   broker.ErrorCode
			noRedirect bool   // SPEC §2 step 1
			wantBase   string // the redirect's URL without query, for step-2 errors
		}{
			{name: "repeated scope", q: func() url.Values {
				q := oaQuery(plain)
				q.Add("scope", plain.Scope)
				return q
			}(), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "repeated state with a bad response_type", q: func() url.Values {
				q := oaQuery(plain, "response_type", "token")
				q.Add("state", "other")
				return q
			}(), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "client_id missing", q: oaQuery(plain, "client_id", oaDel), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "client_id empty", q: oaQuery(plain, "client_id", ""), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "client_id unknown", q: oaQuery(plain, "client_id", "cli_doesnotexist00000000000"), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "client_id unknown wins over a bad response_type", q: oaQuery(plain, "client_id", "nope", "response_type", "token"),
				wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri missing, several registered", q: oaQuery(plain, "redirect_uri", oaDel), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri empty", q: oaQuery(plain, "redirect_uri", ""), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri not registered", q: oaQuery(plain, "redirect_uri", "https://evil.example/cb"), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri trailing slash", q: oaQuery(plain, "redirect_uri", plain.RedirectURIs[0]+"/"), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri other case", q: oaQuery(plain, "redirect_uri", strings.ToUpper(plain.RedirectURIs[0])), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri extra query", q: oaQuery(plain, "redirect_uri", plain.RedirectURIs[0]+"?x=1"), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri of another client", q: oaQuery(plain, "redirect_uri", e.single.RedirectURIs[0]), wantCode: broker.InvalidRequest, noRedirect: true},
			{name: "redirect_uri mismatch wins over a bad scope", q: oaQuery(plain, "redirect_uri", "https://evil.example/cb", "scope", "nope"),
				wantCode: broker.InvalidRequest, noRedirect: true},

			{name: "response_type missing", q: oaQuery(plain, "response_type", oaDel), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "response_type empty", q: oaQuery(plain, "response_type", ""), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "response_type token", q: oaQuery(plain, "response_type", "token"), wantCode: broker.UnsupportedResponseType, wantBase: plain.RedirectURIs[0]},
			{name: "response_type code token", q: oaQuery(plain, "response_type", "code token"), wantCode: broker.UnsupportedResponseType, wantBase: plain.RedirectURIs[0]},
			{name: "response_type wins over scope", q: oaQuery(plain, "response_type", "token", "scope", oaDel), wantCode: broker.UnsupportedResponseType, wantBase: plain.RedirectURIs[0]},
			{name: "scope missing", q: oaQuery(plain, "scope", oaDel), wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "scope only spaces", q: oaQuery(plain, "scope", "   "), wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "scope unknown", q: oaQuery(plain, "scope", "service_account/accounts/manage calendar_god"), wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "scope is a delegated scope", q: oaQuery(plain, "scope", "read_only"), wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "scope outside the client's registration", q: oaQuery(plain, "scope", "service_account/accounts/manage service_account/accounts/unrestricted_access"),
				wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "scope wins over delegated_scope", q: oaQuery(plain, "scope", "nope", "delegated_scope", oaDel), wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "delegated_scope missing", q: oaQuery(plain, "delegated_scope", oaDel), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "delegated_scope empty", q: oaQuery(plain, "delegated_scope", ""), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "delegated_scope unknown", q: oaQuery(plain, "delegated_scope", "read_only read_minds"), wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "delegated_scope is a service-account scope", q: oaQuery(plain, "delegated_scope", "service_account/accounts/manage"),
				wantCode: broker.InvalidScope, wantBase: plain.RedirectURIs[0]},
			{name: "delegated_scope outside the client's registration", q: oaQuery(e.pkce, "delegated_scope", "read_events",
				"code_challenge", challenge, "code_challenge_method", "S256"), wantCode: broker.InvalidScope, wantBase: e.pkce.RedirectURIs[0]},
			{name: "code_challenge without method", q: oaQuery(plain, "code_challenge", challenge), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "method without code_challenge", q: oaQuery(plain, "code_challenge_method", "S256"), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "method plain", q: oaQuery(plain, "code_challenge", challenge, "code_challenge_method", "plain"), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "method s256 lower case", q: oaQuery(plain, "code_challenge", challenge, "code_challenge_method", "s256"), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "code_challenge too short", q: oaQuery(plain, "code_challenge", challenge[:20], "code_challenge_method", "S256"), wantCode: broker.InvalidRequest, wantBase: plain.RedirectURIs[0]},
			{name: "PKCE required but absent", q: oaQuery(e.pkce), wantCode: broker.InvalidRequest, wantBase: e.pkce.RedirectURIs[0]},
			{name: "error redirect keeps the registered URI's query", q: oaQuery(plain, "redirect_uri", plain.RedirectURIs[1], "response_type", "token"),
				wantCode: broker.UnsupportedResponseType, wantBase: "https://plain.example/cb2"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.authorize(tc.q)
				be := oaWantErrCode(t, err, tc.wantCode)
				if be.Description == "" {
					t.Errorf("error_description is empty")
				}
				if tc.noRedirect {
					if !be.NoRedirect || be.RedirectTo != "" {
						t.Fatalf("NoRedirect=%v RedirectTo=%q, want a page and no redirect", be.NoRedirect, be.RedirectTo)
					}
					return
				}
				if be.NoRedirect || be.RedirectTo == "" {
					t.Fatalf("NoRedirect=%v RedirectTo=%q, want a redirect", be.NoRedirect, be.RedirectTo)
				}
				u, err := url.Parse(be.RedirectTo)
				if err != nil {
					t.Fatalf("RedirectTo %q: %v", be.RedirectTo, err)
				}
				got := u.Query()
				if base := u.Scheme + "://" + u.Host + u.Path; base != tc.wantBase {
					t.Errorf("redirect goes to %s, want %s", base, tc.wantBase)
				}
				if got.Get("error") != string(tc.wantCode) {
					t.Errorf("error=%q, want %q", got.Get("error"), tc.wantCode)
				}
				if got.Get("error_description") == "" {
					t.Errorf("error_description missing in %s", be.RedirectTo)
				}
				if got.Get("state") != "st-123" {
					t.Errorf("state=%q, want st-123", got.Get("state"))
				}
				if got.Get("iss") != oaIssuer {
					t.Errorf("iss=%q, want %q", got.Get("iss"), oaIssuer)
				}
				if got.Has("code") {
					t.Errorf("an error redirect carries a code: %s", be.RedirectTo)
				}
				if tc.wantBase == "https://plain.example/cb2" && got.Get("tenant") != "7" {
					t.Errorf("the registered query tenant=7 was lost: %s", be.RedirectTo)
				}
			})
		}
	})
}

// TestAuthorize_Valid_KeepsPendingRequest checks what a valid request leaves for the
// consent step: expanded scopes, the redirect URI (defaulted when the client has one), the
// challenge and the state.
func TestAuthorize_Valid_KeepsPendingRequest(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		_, challenge := oaPKCE()
		p := e.mustAuthorize(t, oaQuery(e.single, "redirect_uri", oaDel, "delegated_scope", "read_events  free_busy",
			"scope", "service_account/resources/manage service_account/accounts/manage service_account/resources/manage",
			"code_challenge", challenge, "code_challenge_method", "S256"))
		if p.RedirectURI != e.single.RedirectURIs[0] || p.RedirectURIGiven {
			t.Errorf("RedirectURI=%q given=%v, want the only registered URI, not given", p.RedirectURI, p.RedirectURIGiven)
		}
		if want := "service_account/accounts/manage service_account/resources/manage"; p.Scope != want {
			t.Errorf("Scope=%q, want %q", p.Scope, want)
		}
		if want := "list_calendars read_account read_events read_free_busy"; p.DelegatedScope != want {
			t.Errorf("DelegatedScope=%q, want %q", p.DelegatedScope, want)
		}
		if p.CodeChallenge != challenge || p.State != "st-123" || p.ClientID != e.single.ID {
			t.Errorf("pending = %+v", p)
		}
		got, err := e.b.Pending(e.ctx, p.ID)
		if err != nil || got.ID != p.ID {
			t.Fatalf("Pending(%s) = %+v, %v", p.ID, got, err)
		}
	})
}

// TestSignIn_Errors covers SPEC §2/§6 sign-in answers.
func TestSignIn_Errors(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		cases := []struct {
			name      string
			email, pw string
			adminOnly bool
			wantCode  broker.ErrorCode // "" = success
			wantKind  store.SessionKind
			wantDom   string
		}{
			{name: "admin", email: oaAdminEmail, pw: oaAdminPW, adminOnly: true, wantKind: store.SessionAdmin, wantDom: "example.com"},
			{name: "admin, email in other case", email: " Admin@Example.COM ", pw: oaAdminPW, adminOnly: true, wantKind: store.SessionAdmin, wantDom: "example.com"},
			{name: "other domain's admin", email: oaOtherAdminEmail, pw: oaOtherAdminPW, adminOnly: true, wantKind: store.SessionAdmin, wantDom: "other.org"},
			{name: "user without AdminOnly", email: "alice@example.com", pw: oaAlicePW, wantKind: store.SessionSubject, wantDom: "example.com"},
			{name: "wrong password", email: oaAdminEmail, pw: oaAdminPW + "x", adminOnly: true, wantCode: broker.Unauthenticated},
			{name: "another person's password", email: oaAdminEmail, pw: oaAlicePW, adminOnly: true, wantCode: broker.Unauthenticated},
			{name: "empty password", email: "bob@example.com", pw: "", adminOnly: true, wantCode: broker.Unauthenticated},
			{name: "unknown email of a known domain", email: "mallory@example.com", pw: oaAdminPW, adminOnly: true, wantCode: broker.Unauthenticated},
			{name: "email of an unknown domain", email: "admin@unknown.net", pw: oaAdminPW, adminOnly: true, wantCode: broker.Unauthenticated},
			{name: "not an email", email: "admin", pw: oaAdminPW, adminOnly: true, wantCode: broker.Unauthenticated},
			{name: "user who administers nothing, AdminOnly", email: "bob@example.com", pw: oaBobPW, adminOnly: true, wantCode: broker.Forbidden},
			{name: "user of other.org, AdminOnly", email: "carol@other.org", pw: oaCarolPW, adminOnly: true, wantCode: broker.Forbidden},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: tc.email, Password: tc.pw, AdminOnly: tc.adminOnly, Meta: e.meta()})
				if tc.wantCode != "" {
					oaWantErrCode(t, err, tc.wantCode)
					if res.Cookie != "" {
						t.Errorf("a refused sign-in returned a cookie")
					}
					return
				}
				if err != nil {
					t.Fatalf("SignIn: %v", err)
				}
				e.saw(res.Cookie)
				if res.Cookie == "" || res.Session.Kind != tc.wantKind || res.Session.Domain != tc.wantDom {
					t.Errorf("session = %+v (cookie set: %v), want kind %s domain %s", res.Session, res.Cookie != "", tc.wantKind, tc.wantDom)
				}
				if _, err := e.b.Session(e.ctx, res.Cookie); err != nil {
					t.Errorf("Session(cookie): %v", err)
				}
			})
		}
	})
}

// TestSignIn_ThrottledPerAccount_ResetsAfterWindow: after the limit of failures the account
// is refused (even with its right password) with a Retry-After, until the window passes.
func TestSignIn_ThrottledPerAccount_ResetsAfterWindow(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		try := func(pw string) error {
			_, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: pw, AdminOnly: true, Meta: e.meta()})
			return err
		}
		for i := range oaSigninLimit {
			if err := try("wrong-" + string(rune('a'+i))); err == nil {
				t.Fatal("a wrong password signed in")
			} else {
				oaWantErrCode(t, err, broker.Unauthenticated)
			}
		}
		be := oaWantErrCode(t, try(oaAdminPW), broker.TooManyRequests)
		if be.RetryAfter <= 0 || be.RetryAfter > int(oaSigninWindow.Seconds()) {
			t.Errorf("RetryAfter=%d, want in (0, %d]", be.RetryAfter, int(oaSigninWindow.Seconds()))
		}
		// Another account is not throttled by this one's failures.
		e.signIn(t, oaOtherAdminEmail, oaOtherAdminPW, true)

		e.clock.Advance(oaSigninWindow)
		if err := try(oaAdminPW); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

// TestConsent_AdminOfOtherDomainThanHint_Forbidden: a login_hint naming another domain than
// the signed-in administrator's is refused, on the page and on the decision.
func TestConsent_AdminOfOtherDomainThanHint_Forbidden(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		for _, hint := range []string{"other.org", "carol@other.org", "Admin@Other.org"} {
			t.Run(hint, func(t *testing.T) {
				p := e.mustAuthorize(t, oaQuery(e.plain, "login_hint", hint))
				cookie := e.signIn(t, oaAdminEmail, oaAdminPW, true)
				_, err := e.b.Consent(e.ctx, p.ID, cookie)
				oaWantErrCode(t, err, broker.Forbidden)
				// A CSRF token of the right admin's own session for another request does not help;
				// but even forging the decision without a page is refused on the domain.
				_, err = e.decide(broker.Decision{RequestID: p.ID, CSRF: "x", Cookie: cookie, Decision: "approve"})
				oaWantErrCode(t, err, broker.Forbidden)
				// The right administrator can still decide.
				other := e.signIn(t, oaOtherAdminEmail, oaOtherAdminPW, true)
				v := e.consent(t, p.ID, other)
				if v.Domain != "other.org" {
					t.Errorf("consent domain %q, want other.org", v.Domain)
				}
			})
		}
	})
}

// TestConsent_HintOfOwnDomain_Shown: the consent page names the client and the admin's
// domain and carries a CSRF token.
func TestConsent_HintOfOwnDomain_Shown(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		p := e.mustAuthorize(t, oaQuery(e.plain, "login_hint", oaAdminEmail))
		cookie := e.signIn(t, oaAdminEmail, oaAdminPW, true)
		v := e.consent(t, p.ID, cookie)
		if v.ClientName != "Plain App" || v.Domain != "example.com" || v.Admin != oaAdminEmail || v.CSRF == "" || v.RequestID != p.ID {
			t.Errorf("consent view = %+v", v)
		}
		if len(v.Scopes) != 2 || len(v.DelegatedScopes) == 0 || len(v.ProviderScopes) == 0 {
			t.Errorf("scopes on the page: %d service-account, %d delegated, %d provider", len(v.Scopes), len(v.DelegatedScopes), len(v.ProviderScopes))
		}
		for _, l := range append(append([]broker.ScopeLine{}, v.Scopes...), v.DelegatedScopes...) {
			if l.Description == "" {
				t.Errorf("scope %s has no plain-language description", l.Scope)
			}
		}
	})
}

// TestConsent_NotSignedInAsAdmin_Unauthenticated: no cookie, an unknown cookie, or a subject
// session get the sign-in form (unauthenticated).
func TestConsent_NotSignedInAsAdmin_Unauthenticated(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		p := e.mustAuthorize(t, oaQuery(e.plain))
		subject := e.signIn(t, "alice@example.com", oaAlicePW, false)
		for name, cookie := range map[string]string{"none": "", "unknown": "not-a-session", "subject session": subject} {
			t.Run(name, func(t *testing.T) {
				_, err := e.b.Consent(e.ctx, p.ID, cookie)
				oaWantErrCode(t, err, broker.Unauthenticated)
				_, err = e.decide(broker.Decision{RequestID: p.ID, CSRF: "x", Cookie: cookie, Decision: "approve"})
				oaWantErrCode(t, err, broker.Unauthenticated)
			})
		}
		t.Run("unknown request", func(t *testing.T) {
			admin := e.signIn(t, oaAdminEmail, oaAdminPW, true)
			_, err := e.b.Consent(e.ctx, "nope", admin)
			be := oaWantErrCode(t, err, broker.InvalidRequest)
			if !be.NoRedirect {
				t.Errorf("an unknown request must not redirect")
			}
		})
	})
}

// TestDecide_BadCSRFOrCrossSite_ForbiddenAndNothingConsumed: a missing or wrong CSRF token,
// a token of another request or session, a cross-site post and an unknown decision are all
// refused, and the pending request stays usable.
func TestDecide_BadCSRFOrCrossSite_ForbiddenAndNothingConsumed(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		p := e.mustAuthorize(t, oaQuery(e.plain))
		cookie := e.signIn(t, oaAdminEmail, oaAdminPW, true)
		v := e.consent(t, p.ID, cookie)

		p2 := e.mustAuthorize(t, oaQuery(e.plain))
		v2 := e.consent(t, p2.ID, cookie)
		cookie2 := e.signIn(t, oaAdminEmail, oaAdminPW, true)
		v3 := e.consent(t, p.ID, cookie2)

		cases := []struct {
			name string
			d    broker.Decision
			want broker.ErrorCode
		}{
			{"csrf missing", broker.Decision{RequestID: p.ID, Cookie: cookie, Decision: "approve"}, broker.Forbidden},
			{"csrf wrong", broker.Decision{RequestID: p.ID, CSRF: v.CSRF + "A", Cookie: cookie, Decision: "approve"}, broker.Forbidden},
			{"csrf garbage", broker.Decision{RequestID: p.ID, CSRF: "AAAA", Cookie: cookie, Decision: "approve"}, broker.Forbidden},
			{"csrf of another request", broker.Decision{RequestID: p.ID, CSRF: v2.CSRF, Cookie: cookie, Decision: "approve"}, broker.Forbidden},
			{"csrf of another session", broker.Decision{RequestID: p.ID, CSRF: v3.CSRF, Cookie: cookie, Decision: "approve"}, broker.Forbidden},
			{"cross site", broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "approve", CrossSite: true}, broker.Forbidden},
			{"cross site deny", broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "deny", CrossSite: true}, broker.Forbidden},
			{"unknown decision", broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "maybe"}, broker.InvalidRequest},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				to, err := e.decide(tc.d)
				be := oaWantErrCode(t, err, tc.want)
				if to != "" || !be.NoRedirect {
					t.Errorf("redirect %q NoRedirect=%v, want a page", to, be.NoRedirect)
				}
			})
		}
		// Nothing was consumed: the right form still works, once.
		to, err := e.decide(broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "approve"})
		if err != nil {
			t.Fatalf("the genuine decision after refused ones: %v", err)
		}
		if u, _ := url.Parse(to); !oaReCode.MatchString(u.Query().Get("code")) {
			t.Errorf("redirect %q carries no code", to)
		}
		_, err = e.decide(broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "approve"})
		oaWantErrCode(t, err, broker.InvalidRequest)
	})
}

// TestDecide_Replayed_Refused: a decision is single use, whichever way it went.
func TestDecide_Replayed_Refused(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		for _, first := range []string{"approve", "deny"} {
			t.Run(first, func(t *testing.T) {
				p := e.mustAuthorize(t, oaQuery(e.plain))
				cookie := e.signIn(t, oaAdminEmail, oaAdminPW, true)
				v := e.consent(t, p.ID, cookie)
				d := broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: first}
				if _, err := e.decide(d); err != nil {
					t.Fatalf("first decision: %v", err)
				}
				for _, again := range []string{"approve", "deny"} {
					d.Decision = again
					to, err := e.decide(d)
					if err == nil {
						t.Fatalf("replayed %s after %s succeeded: %s", again, first, to)
					}
					oaWantErrCode(t, err, broker.InvalidRequest)
				}
				if _, err := e.b.Consent(e.ctx, p.ID, cookie); err == nil {
					t.Errorf("the consent page of a decided request still shows")
				}
			})
		}
	})
}

// TestDecide_PendingExpired_Refused: a pending request lives 10 minutes.
func TestDecide_PendingExpired_Refused(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		p := e.mustAuthorize(t, oaQuery(e.plain))
		cookie := e.signIn(t, oaAdminEmail, oaAdminPW, true)
		v := e.consent(t, p.ID, cookie)
		e.clock.Advance(broker.PendingTTL + time.Second)
		_, err := e.decide(broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "approve"})
		oaWantErrCode(t, err, broker.InvalidRequest)
	})
}

// TestDecide_Deny_RedirectsAccessDenied: deny → error=access_denied with state and iss, no
// code and no grant.
func TestDecide_Deny_RedirectsAccessDenied(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		f := e.flow(t, e.plain, oaFlowOpts{Decision: "deny"})
		q := f.Redirect.Query()
		if base := f.Redirect.Scheme + "://" + f.Redirect.Host + f.Redirect.Path; base != e.plain.RedirectURIs[0] {
			t.Errorf("redirect base %s, want %s", base, e.plain.RedirectURIs[0])
		}
		if q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("iss") != oaIssuer || q.Has("code") {
			t.Errorf("deny redirect %s, want error=access_denied&state=st-123&iss=%s and no code", f.Redirect, oaIssuer)
		}
		if _, err := s.ActiveGrant(e.ctx, e.plain.ID, "example.com"); err == nil {
			t.Errorf("a denied request left an active grant")
		}
	})
}

// TestDecide_Approve_RedirectsCode: approve → 32 [A-Za-z0-9] chars with state and iss, to
// the registered URI (keeping its query).
func TestDecide_Approve_RedirectsCode(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		f := e.flow(t, e.plain, oaFlowOpts{Pairs: []string{"redirect_uri", e.plain.RedirectURIs[1]}})
		q := f.Redirect.Query()
		if !oaReCode.MatchString(f.Code) {
			t.Errorf("code %q does not match %s", f.Code, oaReCode)
		}
		if q.Get("state") != "st-123" || q.Get("iss") != oaIssuer || q.Get("tenant") != "7" || q.Has("error") {
			t.Errorf("approve redirect %s", f.Redirect)
		}
		if f.Redirect.Host != "plain.example" || f.Redirect.Path != "/cb2" {
			t.Errorf("approve redirect goes to %s", f.Redirect)
		}
		// Without state, no state parameter comes back.
		g := e.flow(t, e.plain, oaFlowOpts{Pairs: []string{"state", oaDel}})
		if g.Redirect.Query().Has("state") || !oaReCode.MatchString(g.Code) {
			t.Errorf("approve redirect without state: %s", g.Redirect)
		}
	})
}

// TestDecide_AdminApprovesOnlyOwnDomain: the grant's domain is the approving administrator's,
// and tokens carry it.
func TestDecide_AdminApprovesOnlyOwnDomain(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		res, _ := e.tokens(t, e.plain, oaFlowOpts{Email: oaOtherAdminEmail, Password: oaOtherAdminPW})
		if res.Domain != "other.org" {
			t.Errorf("token domain %q, want other.org (the approving admin's)", res.Domain)
		}
		g, err := s.GetGrant(e.ctx, res.ServiceAccountID)
		if err != nil {
			t.Fatalf("GetGrant: %v", err)
		}
		if g.Domain != "other.org" || g.ApprovedBy != oaOtherAdminEmail {
			t.Errorf("grant domain %q approved by %q", g.Domain, g.ApprovedBy)
		}
		if _, err := s.ActiveGrant(e.ctx, e.plain.ID, "example.com"); err == nil {
			t.Errorf("other.org's admin created a grant for example.com")
		}
	})
}

// TestSignIn_Throttled_RetryAfterIsWhenTheWindowEnds: Retry-After names the end of the
// store's window (windows are aligned to the Unix epoch, store.RateLimits), so waiting
// exactly that long is enough, also for a window that does not divide a day.
func TestSignIn_Throttled_RetryAfterIsWhenTheWindowEnds(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		const window = 7 * time.Minute
		e := oaOn(t, s, func(o *broker.Options) {
			o.RateLimits.SigninPerAccount = broker.RateLimit{Limit: 1, Window: window}
		})
		// Put the clock 100 s into an epoch-aligned window.
		w := int64(window.Seconds())
		u := e.clock.Now().Unix()
		e.clock.Advance(time.Duration((100-u%w+w)%w) * time.Second)
		wantRetry := int(w - 100)

		_, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: "wrong", AdminOnly: true, Meta: e.meta()})
		oaWantErrCode(t, err, broker.Unauthenticated)
		_, err = e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: oaAdminPW, AdminOnly: true, Meta: e.meta()})
		be := oaWantErrCode(t, err, broker.TooManyRequests)
		if be.RetryAfter != wantRetry {
			t.Errorf("RetryAfter %d s, want %d s (the end of the epoch-aligned window)", be.RetryAfter, wantRetry)
		}
		e.clock.Advance(time.Duration(be.RetryAfter) * time.Second)
		if _, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: oaAdminPW, AdminOnly: true, Meta: e.meta()}); err != nil {
			t.Errorf("after waiting Retry-After (%d s): %v", be.RetryAfter, err)
		}
	})
}

// TestAuthorize_ThrottledPerIP_PageNotRedirect: authorize requests per IP are limited; the
// refusal is a page (no redirect) with Retry-After.
func TestAuthorize_ThrottledPerIP_PageNotRedirect(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s, func(o *broker.Options) {
			o.RateLimits.AuthorizePerIP = broker.RateLimit{Limit: 2, Window: time.Minute}
		})
		for range 2 {
			e.mustAuthorize(t, oaQuery(e.plain))
		}
		_, err := e.authorize(oaQuery(e.plain))
		be := oaWantErrCode(t, err, broker.TooManyRequests)
		if !be.NoRedirect || be.RetryAfter <= 0 {
			t.Errorf("NoRedirect=%v RetryAfter=%d", be.NoRedirect, be.RetryAfter)
		}
		other, err := e.b.Authorize(e.ctx, oaQuery(e.plain), broker.Meta{IP: "198.51.100.7"})
		if err != nil || other.ID == "" {
			t.Errorf("another IP is throttled too: %v", err)
		}
		e.clock.Advance(time.Minute)
		e.mustAuthorize(t, oaQuery(e.plain))
	})
}

// TestSignIn_ThrottledPerIP: failures from one address across accounts are limited too.
func TestSignIn_ThrottledPerIP(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s, func(o *broker.Options) {
			o.RateLimits.SigninPerIP = broker.RateLimit{Limit: 4, Window: time.Hour}
		})
		for i := range 4 {
			_, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: fmt.Sprintf("user%d@example.com", i), Password: "x", Meta: broker.Meta{IP: "203.0.113.9"}})
			oaWantErrCode(t, err, broker.Unauthenticated)
		}
		_, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: oaAdminPW, AdminOnly: true, Meta: broker.Meta{IP: "203.0.113.9"}})
		oaWantErrCode(t, err, broker.TooManyRequests)
		if _, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: oaAdminEmail, Password: oaAdminPW, AdminOnly: true, Meta: broker.Meta{IP: "203.0.113.10"}}); err != nil {
			t.Errorf("another address: %v", err)
		}
	})
}
