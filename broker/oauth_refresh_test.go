package broker_test

import (
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// TestRefresh_Rotates: a refresh gives a new access token and a new refresh token with the
// grant's fields; the old refresh token is used up, the old access token lives on until it
// expires.
func TestRefresh_Rotates(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		first, _ := e.tokens(t, e.plain, oaFlowOpts{})
		e.clock.Advance(time.Minute)
		second, err := e.refresh(e.plain, first.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatalf("refresh did not rotate: %+v", second)
		}
		if second.TokenType != "bearer" || second.ExpiresIn != int64(oaAccessTTL.Seconds()) || second.Scope != first.Scope ||
			second.DelegatedScope != first.DelegatedScope || second.Domain != first.Domain || second.ServiceAccountID != first.ServiceAccountID {
			t.Errorf("refreshed response %+v differs from the first %+v", second, first)
		}
		if e.active(t, e.plain, first.RefreshToken) {
			t.Error("the rotated refresh token is still active")
		}
		if !e.active(t, e.plain, second.AccessToken) || !e.active(t, e.plain, second.RefreshToken) {
			t.Error("the new tokens are not active")
		}
		// Rotation continues.
		third, err := e.refresh(e.plain, second.RefreshToken)
		if err != nil || third.RefreshToken == second.RefreshToken {
			t.Fatalf("second rotation: %v", err)
		}
	})
}

// TestRefresh_ReplayedRotatedToken_RevokesFamily: replaying a rotated refresh token is
// invalid_grant and revokes the family: the newest refresh and access tokens die too.
func TestRefresh_ReplayedRotatedToken_RevokesFamily(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		first, _ := e.tokens(t, e.plain, oaFlowOpts{})
		other, _ := e.tokens(t, e.single, oaFlowOpts{})
		second, err := e.refresh(e.plain, first.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		_, err = e.refresh(e.plain, first.RefreshToken)
		oaWantErrCode(t, err, broker.InvalidGrant)
		for name, tok := range map[string]string{"first access": first.AccessToken, "new access": second.AccessToken, "new refresh": second.RefreshToken} {
			if e.active(t, e.plain, tok) {
				t.Errorf("%s token still active after the replay", name)
			}
		}
		_, err = e.refresh(e.plain, second.RefreshToken)
		oaWantErrCode(t, err, broker.InvalidGrant)
		if !e.active(t, e.single, other.AccessToken) {
			t.Error("another client's family was revoked")
		}
	})
}

// TestRefresh_OtherClientsToken_InvalidGrantAndUntouched: a refresh token is bound to its
// client; another client's attempt neither works nor harms it.
func TestRefresh_OtherClientsToken_InvalidGrantAndUntouched(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		first, _ := e.tokens(t, e.plain, oaFlowOpts{})
		_, err := e.refresh(e.single, first.RefreshToken)
		oaWantErrCode(t, err, broker.InvalidGrant)
		if _, err := e.refresh(e.plain, first.RefreshToken); err != nil {
			t.Errorf("the owner's refresh after another client tried: %v", err)
		}
	})
}

// TestRefresh_AccessTokenExpires: the access token is inactive after AccessTokenTTL, the
// refresh token still rotates.
func TestRefresh_AccessTokenExpires(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		first, _ := e.tokens(t, e.plain, oaFlowOpts{})
		e.clock.Advance(oaAccessTTL + time.Second)
		if e.active(t, e.plain, first.AccessToken) {
			t.Error("the access token is active after its TTL")
		}
		if _, err := e.b.Authenticate(e.ctx, first.AccessToken); err == nil {
			t.Error("the broker's API accepts an expired access token")
		}
		if _, err := e.refresh(e.plain, first.RefreshToken); err != nil {
			t.Errorf("refresh after the access token expired: %v", err)
		}
		_, err := e.refresh(e.plain, first.AccessToken)
		oaWantErrCode(t, err, broker.InvalidGrant)
	})
}
