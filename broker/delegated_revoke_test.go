package broker

// SPEC §8 (and §0): revoking a grant, re-approval and RFC 7009 revocation of delegated JWTs;
// SPEC §4 key rotation.

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/enterprise-connect/broker/store"
)

// Revoking a grant (by Cronofy's sub=ser_… or by a new approval, SPEC §0) makes every
// delegated JWT minted from it inactive at introspection and refused by Authenticate at
// once, on every replica, even one that had the grant cached.
func TestDelegated_GrantRevoked_MintedJWTsDieAtOnce(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(e *dtEnv, sa dtSA) (next *dtSA)
	}{
		{name: "revocation with sub=ser_", revoke: func(e *dtEnv, sa dtSA) *dtSA {
			e.revoke(e.full, map[string]string{"sub": sa.GrantID})
			return nil
		}},
		{name: "re-approval replaces the grant", revoke: func(e *dtEnv, sa dtSA) *dtSA {
			next := e.grant(e.full, dtGrantOpts{})
			return &next
		}},
		{name: "revocation of the grant's refresh token revokes its family only", revoke: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dtStores(t, func(t *testing.T, s store.Store) {
				e := dtNewEnv(t, s)
				other := e.replica()
				sa := e.grant(e.full, dtGrantOpts{})
				alice := e.mint(sa, "alice@example.com", "").AccessToken
				room := e.mint(sa, "room-1@example.com", "").AccessToken
				for _, tok := range []string{alice, room} {
					if _, err := other.Authenticate(e.ctx, tok); err != nil { // the replica caches the grant
						t.Fatalf("replica before revocation: %v", err)
					}
				}
				if tc.revoke == nil {
					// A refresh token's family is the service account's tokens, not the grant:
					// delegated JWTs stay good (SPEC §8 says grant revocation kills them).
					e.revoke(e.full, map[string]string{"token": sa.Refresh})
					if !e.introspect(e.full, alice).Active {
						t.Errorf("revoking the service account's refresh token killed a delegated JWT of the still active grant")
					}
					_, err := e.b.Authenticate(e.ctx, sa.Access)
					dtWantCode(t, err, InvalidToken)
					return
				}
				next := tc.revoke(e, sa)
				for name, tok := range map[string]string{"alice's JWT": alice, "room-1's JWT": room} {
					if in := e.introspect(e.full, tok); in.Active {
						t.Errorf("%s active at introspection after the grant was revoked", name)
					}
					for bn, b := range map[string]*Broker{"this broker": e.b, "replica": other} {
						_, err := b.Authenticate(e.ctx, tok)
						if err == nil {
							t.Errorf("%s accepted by %s after the grant was revoked", name, bn)
							continue
						}
						dtWantCode(t, err, InvalidToken)
					}
				}
				for bn, b := range map[string]*Broker{"this broker": e.b, "replica": other} {
					_, err := b.Authenticate(e.ctx, sa.Access)
					if err == nil {
						t.Errorf("service-account token accepted by %s after the grant was revoked", bn)
						continue
					}
					dtWantCode(t, err, InvalidToken)
				}
				g, err := e.store.GetGrant(e.ctx, sa.GrantID)
				if err != nil || g.Status != store.GrantRevoked {
					t.Errorf("grant %s: status %q (%v), want revoked", sa.GrantID, g.Status, err)
				}
				if len(e.eventsOf(EvGrantRevoked)) != 1 {
					t.Errorf("%d grant.revoked events, want 1", len(e.eventsOf(EvGrantRevoked)))
				}
				if next != nil {
					fresh := e.mint(*next, "alice@example.com", "").AccessToken
					if !e.introspect(e.full, fresh).Active {
						t.Errorf("a JWT of the new grant is not active")
					}
					if _, err := other.Authenticate(e.ctx, fresh); err != nil {
						t.Errorf("replica refuses a JWT of the new grant: %v", err)
					}
				}
			})
		})
	}
}

// A client cannot revoke another client's grant or delegated JWT (SPEC §8).
func TestDelegated_Revoke_OtherClientsGrantAndJWTUntouched(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	tok := e.mint(sa, "alice@example.com", "").AccessToken
	e.revoke(e.jwtc, map[string]string{"sub": sa.GrantID})
	e.revoke(e.jwtc, map[string]string{"token": tok})
	if !e.introspect(e.full, tok).Active {
		t.Fatalf("another client's revocation killed the JWT")
	}
	if _, err := e.b.Authenticate(e.ctx, tok); err != nil {
		t.Fatalf("another client's revocation: %v", err)
	}
	if _, err := e.b.Authenticate(e.ctx, sa.Access); err != nil {
		t.Fatalf("another client's revocation of the grant: %v", err)
	}
	// Another client learns nothing at introspection either.
	if e.introspect(e.jwtc, tok).Active {
		t.Errorf("another client sees the JWT active at introspection")
	}
}

// RFC 7009 revocation of one delegated JWT: it is denied until it expires; its siblings live.
func TestDelegated_Revoke_DelegatedJWT(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		other := e.replica()
		sa := e.grant(e.full, dtGrantOpts{})
		a := e.mint(sa, "alice@example.com", "").AccessToken
		b := e.mint(sa, "alice@example.com", "").AccessToken
		e.revoke(e.full, map[string]string{"token": a, "token_type_hint": "access_token"})
		if e.introspect(e.full, a).Active {
			t.Errorf("revoked JWT active at introspection")
		}
		for bn, br := range map[string]*Broker{"this broker": e.b, "replica": other} {
			_, err := br.Authenticate(e.ctx, a)
			if err == nil {
				t.Errorf("revoked JWT accepted by %s", bn)
				continue
			}
			dtWantCode(t, err, InvalidToken)
		}
		if !e.introspect(e.full, b).Active {
			t.Errorf("revoking one JWT killed another JWT of the same subject")
		}
		if _, err := e.b.Authenticate(e.ctx, sa.Access); err != nil {
			t.Errorf("revoking a JWT killed the service-account token: %v", err)
		}
		// Revoking again, or revoking an expired JWT, is still a 200 (RFC 7009 §2.2).
		e.revoke(e.full, map[string]string{"token": a})
		e.clock.Advance(dtDelegatedTTL + time.Second)
		e.revoke(e.full, map[string]string{"token": b})
		if n := len(e.eventsOf(EvTokenRevoked)); n != 1 {
			t.Errorf("%d token.revoked events, want 1", n)
		}
	})
}

// SPEC §4: `broker keys rotate` adds a key and signs with it; the old key stays published
// while tokens it signed may live, and those tokens keep verifying.
func TestDelegated_KeyRotation_OldTokensStayValid(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		other := e.replica()
		sa := e.grant(e.full, dtGrantOpts{})
		before := e.mint(sa, "alice@example.com", "").AccessToken
		h, _ := dtClaims(t, before)
		oldKid, _ := h["kid"].(string)

		e.clock.Advance(time.Minute)
		rec, err := e.b.Keys().Rotate(e.ctx)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if rec.ID == oldKid || rec.ID == "" {
			t.Fatalf("rotated key id %q, old %q", rec.ID, oldKid)
		}
		after := e.mint(sa, "alice@example.com", "").AccessToken
		if h, _ := dtClaims(t, after); h["kid"] != rec.ID {
			t.Errorf("token minted after rotation has kid %v, want the new key %s", h["kid"], rec.ID)
		}
		jwks := e.b.Keys().JWKS()
		if got := dtKids(t, jwks); !slices.Equal(got, dtSorted(oldKid, rec.ID)) {
			t.Errorf("JWKS kids %v, want both %s and %s", got, oldKid, rec.ID)
		}
		for name, tok := range map[string]string{"before rotation": before, "after rotation": after} {
			dtVerifyWithJWKS(t, jwks, tok)
			if _, err := e.b.Authenticate(e.ctx, tok); err != nil {
				t.Errorf("token %s refused: %v", name, err)
			}
			if !e.introspect(e.full, tok).Active {
				t.Errorf("token %s inactive at introspection", name)
			}
			// A replica that has not reloaded its keys verifies the new kid too.
			if _, err := other.Authenticate(e.ctx, tok); err != nil {
				t.Errorf("token %s refused by a replica: %v", name, err)
			}
		}
		// The replica, once it reloads (cmd/broker does every 2 s), signs with the new key.
		if err := other.Keys().Refresh(e.ctx, 0); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dtKids(t, other.Keys().JWKS()), dtSorted(oldKid, rec.ID)) {
			t.Errorf("replica JWKS %s, want both kids", other.Keys().JWKS())
		}

		// Once every token of the old key has expired, the key leaves the JWKS.
		e.clock.Advance(time.Hour + time.Minute)
		if got := dtKids(t, e.b.Keys().JWKS()); !slices.Equal(got, []string{rec.ID}) {
			t.Errorf("JWKS kids %v an hour after rotation, want only %s", got, rec.ID)
		}
	})
}

func dtKids(t testing.TB, jwks []byte) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	var out []string
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Errorf("JWKS publishes a private key (%s)", k.KeyID)
		}
		out = append(out, k.KeyID)
	}
	slices.Sort(out)
	return out
}

func dtSorted(s ...string) []string {
	slices.Sort(s)
	return s
}
