package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// redemption returns what a request presenting exactly what c is bound to sends, with the
// token pair named after value, issued at issued (odd milliseconds, so that a backend
// rounding or re-encoding times shows).
func redemption(c store.Code, value string, issued time.Time) store.CodeRedemption {
	return store.CodeRedemption{
		ClientID:         c.ClientID,
		RedirectURIGiven: c.RedirectURIGiven,
		RedirectURI:      c.RedirectURI,
		CodeChallenge:    c.CodeChallenge,
		IssuedAt:         issued,
		AccessHash:       hashOf("access " + value),
		AccessExpiresAt:  issued.Add(30*time.Minute + 1*ms),
		RefreshHash:      hashOf("refresh " + value),
	}
}

// redeemedPair is the token pair RedeemCode must store for r of code c of grant g.
func redeemedPair(g store.Grant, c store.Code, r store.CodeRedemption) (store.AccessToken, store.RefreshToken) {
	a := store.AccessToken{Hash: r.AccessHash, FamilyID: c.FamilyID, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain,
		Kind: store.KindServiceAccount, Subject: g.ID, Scope: g.Scope, DelegatedScope: g.DelegatedScope,
		IssuedAt: r.IssuedAt, ExpiresAt: r.AccessExpiresAt}
	rt := store.RefreshToken{Hash: r.RefreshHash, FamilyID: c.FamilyID, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain,
		Kind: store.KindServiceAccount, Subject: g.ID, Scope: g.Scope, DelegatedScope: g.DelegatedScope, IssuedAt: r.IssuedAt}
	return a, rt
}

// codeWithGrant stores c and an active grant with c's id, client and domain.
func codeWithGrant(t *testing.T, s store.Store, c store.Code) store.Grant {
	t.Helper()
	g := newGrant(c.GrantID, c.ClientID, c.Domain, at(0))
	createGrant(t, s, g, "")
	must(t, "PutCode", s.PutCode(t.Context(), c))
	return g
}

// redeem calls RedeemCode and checks the error, the record and issued; it returns nothing,
// the caller checks what was stored.
func redeem(t *testing.T, s store.Store, what string, c store.Code, now time.Time, r store.CodeRedemption, wantErr error, wantIssued bool) {
	t.Helper()
	got, issued, err := s.RedeemCode(t.Context(), c.Hash, now, r)
	if !errors.Is(err, wantErr) {
		t.Errorf("RedeemCode %s: error %v, want %v", what, err, wantErr)
	}
	if issued != wantIssued {
		t.Errorf("RedeemCode %s: issued %v, want %v", what, issued, wantIssued)
	}
	if wantErr == nil || errors.Is(wantErr, store.ErrUsed) {
		if d := diff(c, got, ignoreUsed); d != "" {
			t.Errorf("RedeemCode %s must return the code's record (-want +got):\n%s", what, d)
		}
	}
}

func testRedeem(t *testing.T, open Opener) {
	t.Run("MatchingCodeIssuesThePairFromTheGrant", func(t *testing.T) {
		_, s := fresh(t, open)
		c := newCode("code", at(0))
		g := codeWithGrant(t, s, c)
		r := redemption(c, "pair", at(time.Minute+3*ms))
		redeem(t, s, "a matching request", c, at(time.Minute), r, nil, true)
		a, rt := redeemedPair(g, c, r)
		wantAccess(t, s, "redeemed", a, at(2*time.Minute), nil)
		wantRefresh(t, s, "redeemed", rt, at(2*time.Minute), nil)
		wantAccess(t, s, "redeemed, after its expiry", a, a.ExpiresAt, store.ErrNotFound)

		// Redeemed again: reuse, with the record, and nothing more is issued.
		again := redemption(c, "again", at(2*time.Minute))
		redeem(t, s, "a second time", c, at(2*time.Minute), again, store.ErrUsed, false)
		a2, rt2 := redeemedPair(g, c, again)
		wantAccess(t, s, "of the second redemption", a2, at(2*time.Minute), store.ErrNotFound)
		wantRefresh(t, s, "of the second redemption", rt2, at(2*time.Minute), store.ErrNotFound)

		// The pair is in the code's family: revoking it (as code reuse does) kills both.
		must(t, "RevokeFamily", s.RevokeFamily(t.Context(), c.FamilyID))
		wantAccess(t, s, "after RevokeFamily", a, at(2*time.Minute), store.ErrNotFound)
		wantRefresh(t, s, "after RevokeFamily", rt, at(2*time.Minute), store.ErrNotFound)
	})
	t.Run("PairDiesWithTheGrant", func(t *testing.T) {
		ctx, s := fresh(t, open)
		c := newCode("code", at(0))
		g := codeWithGrant(t, s, c)
		r := redemption(c, "pair", at(time.Minute))
		redeem(t, s, "a matching request", c, at(time.Minute), r, nil, true)
		a, rt := redeemedPair(g, c, r)
		_, err := s.RevokeGrant(ctx, g.ID, at(2*time.Minute))
		must(t, "RevokeGrant", err)
		wantAccess(t, s, "after RevokeGrant", a, at(2*time.Minute), store.ErrNotFound)
		wantRefresh(t, s, "after RevokeGrant", rt, at(2*time.Minute), store.ErrNotFound)
	})
	t.Run("MismatchConsumesWithoutIssuing", func(t *testing.T) {
		noRedirect := newCode("no redirect", at(0))
		noRedirect.RedirectURIGiven = false
		cases := []struct {
			name       string
			code       store.Code
			change     func(r *store.CodeRedemption)
			wantIssued bool
		}{
			{"exact match", newCode("c", at(0)), func(*store.CodeRedemption) {}, true},
			{"another client", newCode("c", at(0)), func(r *store.CodeRedemption) { r.ClientID = "cli_other" }, false},
			{"redirect_uri missing where the code requires it", newCode("c", at(0)),
				func(r *store.CodeRedemption) { r.RedirectURIGiven, r.RedirectURI = false, "" }, false},
			{"another redirect_uri", newCode("c", at(0)), func(r *store.CodeRedemption) { r.RedirectURI += "/other" }, false},
			{"no code_verifier where the code has a challenge", newCode("c", at(0)), func(r *store.CodeRedemption) { r.CodeChallenge = "" }, false},
			{"another challenge", newCode("c", at(0)), func(r *store.CodeRedemption) { r.CodeChallenge = "x" + r.CodeChallenge[1:] }, false},
			{"a challenge where the code has none", func() store.Code { c := newCode("c", at(0)); c.CodeChallenge = ""; return c }(),
				func(r *store.CodeRedemption) { r.CodeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" }, false},
			{"code without redirect_uri, none sent", noRedirect, func(*store.CodeRedemption) {}, true},
			{"code without redirect_uri, the registered one sent", noRedirect, func(r *store.CodeRedemption) { r.RedirectURIGiven = true }, true},
			{"code without redirect_uri, another sent", noRedirect,
				func(r *store.CodeRedemption) { r.RedirectURIGiven, r.RedirectURI = true, "https://app.example/other" }, false},
			{"per-subject code", newSubjectCode("c", at(0)), func(*store.CodeRedemption) {}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, s := fresh(t, open)
				g := codeWithGrant(t, s, tc.code)
				r := redemption(tc.code, "pair", at(time.Minute))
				tc.change(&r)
				redeem(t, s, "", tc.code, at(time.Minute), r, nil, tc.wantIssued)
				a, rt := redeemedPair(g, tc.code, r)
				want := error(store.ErrNotFound)
				if tc.wantIssued {
					want = nil
				}
				wantAccess(t, s, "", a, at(time.Minute), want)
				wantRefresh(t, s, "", rt, at(time.Minute), want)
				// Consumed either way.
				redeem(t, s, "again", tc.code, at(time.Minute), redemption(tc.code, "again", at(time.Minute)), store.ErrUsed, false)
			})
		}
	})
	t.Run("DeadGrantConsumesWithoutIssuing", func(t *testing.T) {
		for _, state := range []string{"revoked", "unknown"} {
			t.Run(state, func(t *testing.T) {
				ctx, s := fresh(t, open)
				c := newCode("code", at(0))
				g := newGrant(c.GrantID, c.ClientID, c.Domain, at(0))
				if state == "revoked" {
					createGrant(t, s, g, "")
					_, err := s.RevokeGrant(ctx, g.ID, at(time.Second))
					must(t, "RevokeGrant", err)
				}
				must(t, "PutCode", s.PutCode(ctx, c))
				r := redemption(c, "pair", at(time.Minute))
				redeem(t, s, "of a "+state+" grant", c, at(time.Minute), r, nil, false)
				a, rt := redeemedPair(g, c, r)
				wantAccess(t, s, "of a "+state+" grant", a, at(time.Minute), store.ErrNotFound)
				wantRefresh(t, s, "of a "+state+" grant", rt, at(time.Minute), store.ErrNotFound)
				redeem(t, s, "again", c, at(time.Minute), r, store.ErrUsed, false)
			})
		}
	})
	t.Run("RevokedFamilyConsumesWithoutIssuing", func(t *testing.T) {
		ctx, s := fresh(t, open)
		c := newCode("code", at(0))
		g := codeWithGrant(t, s, c)
		f := saFamily(c.FamilyID, g)
		issue(t, s, f, nil, nil)
		must(t, "RevokeFamily", s.RevokeFamily(ctx, c.FamilyID))
		r := redemption(c, "pair", at(time.Minute))
		redeem(t, s, "into a revoked family", c, at(time.Minute), r, nil, false)
		a, _ := redeemedPair(g, c, r)
		wantAccess(t, s, "into a revoked family", a, at(time.Minute), store.ErrNotFound)
	})
	t.Run("UnknownAndExpired", func(t *testing.T) {
		_, s := fresh(t, open)
		c := newCode("code", at(0))
		codeWithGrant(t, s, c)
		unknown := newCode("never issued", at(0))
		redeem(t, s, "unknown", unknown, at(time.Minute), redemption(unknown, "u", at(time.Minute)), store.ErrNotFound, false)
		redeem(t, s, "expired", c, c.ExpiresAt, redemption(c, "late", c.ExpiresAt), store.ErrNotFound, false)
	})
	t.Run("RedeemRace", func(t *testing.T) {
		_, s := fresh(t, open)
		c := newCode("raced", at(0))
		g := codeWithGrant(t, s, c)
		const n = 50
		rs := make([]store.CodeRedemption, n)
		issued := make([]bool, n)
		for i := range rs {
			rs[i] = redemption(c, name("%d", i), at(time.Minute))
		}
		errs := race(n, func(i int) error {
			var err error
			_, issued[i], err = s.RedeemCode(t.Context(), c.Hash, at(time.Minute), rs[i])
			return err
		})
		if wins, losses := tally(t, errs, store.ErrUsed); wins != 1 || losses != n-1 {
			t.Errorf("%d concurrent RedeemCode: %d won, %d ErrUsed; want 1 and %d", n, wins, losses, n-1)
		}
		for i, err := range errs {
			a, _ := redeemedPair(g, c, rs[i])
			if err == nil && issued[i] {
				wantAccess(t, s, "of the winner", a, at(time.Minute), nil)
				continue
			}
			if issued[i] {
				t.Errorf("goroutine %d: issued with error %v", i, err)
			}
			wantAccess(t, s, name("of loser %d", i), a, at(time.Minute), store.ErrNotFound)
		}
	})
}
