package broker_test

import (
	"testing"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// TestRevoke_UnknownTokens_NoError: RFC 7009 §2.2 — unknown tokens and subjects answer 200.
func TestRevoke_UnknownTokens_NoError(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		for name, p := range map[string]map[string]string{
			"unknown token":           {"token": "no-such-token"},
			"unknown token with hint": {"token": "no-such-token", "token_type_hint": "refresh_token"},
			"unknown hint":            {"token": "no-such-token", "token_type_hint": "banana"},
			"unknown JWT-shaped":      {"token": "a.b.c"},
			"unknown ser_":            {"sub": "ser_000000000000000000000000"},
			"unknown acc_":            {"sub": "acc_000000000000000000000000"},
			"unknown sub kind":        {"sub": "xyz"},
		} {
			t.Run(name, func(t *testing.T) {
				if err := e.revoke(e.plain, p); err != nil {
					t.Errorf("Revoke: %v, want nil", err)
				}
			})
		}
		t.Run("token and sub missing", func(t *testing.T) {
			oaWantErrCode(t, e.revoke(e.plain, map[string]string{}), broker.InvalidRequest)
		})
		t.Run("client authentication required", func(t *testing.T) {
			err := e.b.Revoke(e.ctx, broker.RevokeRequest{Params: map[string]string{"token": "x"},
				Client: broker.ClientCredentialsIn{HasBasic: true, BasicID: e.plain.ID, BasicSecret: "wrong"}, Meta: e.meta()})
			be := oaWantErrCode(t, err, broker.InvalidClient)
			if !be.BasicAuth {
				t.Error("BasicAuth not set")
			}
		})
	})
}

// TestRevoke_Tokens: an access token revokes itself only; a refresh token its whole family;
// another client's tokens stay active.
func TestRevoke_Tokens(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		t.Run("access token", func(t *testing.T) {
			res, _ := e.tokens(t, e.plain, oaFlowOpts{})
			if err := e.revoke(e.plain, map[string]string{"token": res.AccessToken, "token_type_hint": "access_token"}); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if e.active(t, e.plain, res.AccessToken) {
				t.Error("revoked access token still active")
			}
			if _, err := e.b.Authenticate(e.ctx, res.AccessToken); err == nil {
				t.Error("the broker's API accepts a revoked access token")
			}
			if !e.active(t, e.plain, res.RefreshToken) {
				t.Error("revoking the access token killed the refresh token")
			}
		})
		t.Run("refresh token revokes family", func(t *testing.T) {
			res, _ := e.tokens(t, e.single, oaFlowOpts{})
			next, err := e.refresh(e.single, res.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			// A wrong hint does not matter.
			if err := e.revoke(e.single, map[string]string{"token": next.RefreshToken, "token_type_hint": "access_token"}); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			for name, tok := range map[string]string{"first access": res.AccessToken, "new access": next.AccessToken, "new refresh": next.RefreshToken} {
				if e.active(t, e.single, tok) {
					t.Errorf("%s still active after revoking the family's refresh token", name)
				}
			}
			_, err = e.refresh(e.single, next.RefreshToken)
			oaWantErrCode(t, err, broker.InvalidGrant)
		})
		t.Run("another client's tokens untouched", func(t *testing.T) {
			res, _ := e.tokens(t, e.pkce, oaFlowOpts{})
			for _, tok := range []string{res.AccessToken, res.RefreshToken} {
				if err := e.revoke(e.plain, map[string]string{"token": tok}); err != nil {
					t.Fatalf("Revoke of another client's token: %v, want nil (RFC 7009 §2.2)", err)
				}
			}
			if !e.active(t, e.pkce, res.AccessToken) || !e.active(t, e.pkce, res.RefreshToken) {
				t.Error("a client revoked another client's tokens")
			}
		})
		t.Run("revoking twice", func(t *testing.T) {
			res, _ := e.tokens(t, e.jwtc, oaFlowOpts{})
			for range 2 {
				if err := e.revoke(e.jwtc, map[string]string{"token": res.RefreshToken}); err != nil {
					t.Fatalf("Revoke: %v", err)
				}
			}
		})
	})
}

// TestRevoke_SubGrant: sub=ser_… revokes the client's own grant and every token of it;
// another client's grant id is left alone; token wins over sub.
func TestRevoke_SubGrant(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		mine, _ := e.tokens(t, e.plain, oaFlowOpts{})
		theirs, _ := e.tokens(t, e.single, oaFlowOpts{})

		if err := e.revoke(e.plain, map[string]string{"sub": theirs.ServiceAccountID}); err != nil {
			t.Fatalf("Revoke(another client's ser_): %v, want nil", err)
		}
		if !e.active(t, e.single, theirs.AccessToken) {
			t.Fatal("a client revoked another client's grant")
		}
		if g, _ := s.GetGrant(e.ctx, theirs.ServiceAccountID); g.Status != store.GrantActive {
			t.Fatalf("another client's grant is %s", g.Status)
		}

		// token wins when both are sent: the grant stays.
		extra, err := e.refresh(e.plain, mine.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.revoke(e.plain, map[string]string{"token": extra.AccessToken, "sub": mine.ServiceAccountID}); err != nil {
			t.Fatalf("Revoke(token+sub): %v", err)
		}
		if e.active(t, e.plain, extra.AccessToken) {
			t.Error("the token sent with sub was not revoked")
		}
		if !e.active(t, e.plain, extra.RefreshToken) {
			t.Error("sub was acted on although token was sent")
		}

		if err := e.revoke(e.plain, map[string]string{"sub": mine.ServiceAccountID}); err != nil {
			t.Fatalf("Revoke(own ser_): %v", err)
		}
		for name, tok := range map[string]string{"access": mine.AccessToken, "refresh": extra.RefreshToken} {
			if e.active(t, e.plain, tok) {
				t.Errorf("%s token of the revoked grant still active", name)
			}
		}
		_, err = e.refresh(e.plain, extra.RefreshToken)
		oaWantErrCode(t, err, broker.InvalidGrant)
		g, err := s.GetGrant(e.ctx, mine.ServiceAccountID)
		if err != nil || g.Status != store.GrantRevoked {
			t.Errorf("grant status %q (%v), want revoked", g.Status, err)
		}
		if _, err := s.ActiveGrant(e.ctx, e.plain.ID, "example.com"); err == nil {
			t.Error("an active grant remains for the client and domain")
		}
	})
}
