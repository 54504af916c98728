package broker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// oaRedeemSpy is a real store that remembers each RedeemCode's redemption and answer and
// counts the token-storing calls (observation only: every call reaches the store).
type oaRedeemSpy struct {
	store.Store
	mu     sync.Mutex
	calls  map[string]int
	last   store.CodeRedemption
	issued bool
}

func (s *oaRedeemSpy) hit(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[m]++
}

func (s *oaRedeemSpy) count(m string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[m]
}

func (s *oaRedeemSpy) RedeemCode(ctx context.Context, h string, now time.Time, r store.CodeRedemption) (store.Code, bool, error) {
	s.hit("RedeemCode")
	c, issued, err := s.Store.RedeemCode(ctx, h, now, r)
	s.mu.Lock()
	s.last, s.issued = r, issued
	s.mu.Unlock()
	return c, issued, err
}

func (s *oaRedeemSpy) ConsumeCode(ctx context.Context, h string, now time.Time) (store.Code, error) {
	s.hit("ConsumeCode")
	return s.Store.ConsumeCode(ctx, h, now)
}

func (s *oaRedeemSpy) IssueTokens(ctx context.Context, f store.Family, a *store.AccessToken, r *store.RefreshToken) error {
	s.hit("IssueTokens")
	return s.Store.IssueTokens(ctx, f, a, r)
}

// TestToken_CodeRedemption_OneStoreStep: an admin code's redemption consumes the code and
// stores the token pair in one store call (SPEC §11's round-trip budget), and the pair
// answered is the one stored.
func TestToken_CodeRedemption_OneStoreStep(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		spy := &oaRedeemSpy{Store: s}
		e := oaOn(t, spy)
		for _, o := range []oaFlowOpts{{}, {PKCE: true}} {
			f := e.flow(t, e.plain, o)
			before := map[string]int{"RedeemCode": spy.count("RedeemCode"), "ConsumeCode": spy.count("ConsumeCode"), "IssueTokens": spy.count("IssueTokens")}
			res := e.redeem(t, e.plain, f)
			for m, want := range map[string]int{"RedeemCode": 1, "ConsumeCode": 0, "IssueTokens": 0} {
				if got := spy.count(m) - before[m]; got != want {
					t.Errorf("PKCE %v: %s called %d times by one redemption, want %d", o.PKCE, m, got, want)
				}
			}
			if !spy.issued {
				t.Errorf("PKCE %v: the store did not store the pair with the code", o.PKCE)
			}
			if got, want := spy.last.AccessHash, broker.HashSecret(res.AccessToken); got != want {
				t.Errorf("PKCE %v: stored access hash %s, want the answered token's %s", o.PKCE, got, want)
			}
			if !e.active(t, e.plain, res.AccessToken) || !e.active(t, e.plain, res.RefreshToken) {
				t.Errorf("PKCE %v: the answered pair is not active", o.PKCE)
			}
		}
	})
}

// TestToken_CodeRedemption_StoreMatchButCheckFails_RevokesThePair: the store compares the
// code_verifier's challenge; the broker also refuses an empty verifier (RFC 7636 §4.1). A
// code whose challenge is that of the empty string, redeemed with an empty verifier, is
// stored by the store and refused by the broker: the stored pair must be dead.
func TestToken_CodeRedemption_StoreMatchButCheckFails_RevokesThePair(t *testing.T) {
	t.Parallel()
	const emptyChallenge = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU" // S256("")
	forEachStore(t, func(t *testing.T, s store.Store) {
		spy := &oaRedeemSpy{Store: s}
		e := oaOn(t, spy)
		f := e.flow(t, e.plain, oaFlowOpts{Pairs: []string{"code_challenge", emptyChallenge, "code_challenge_method", "S256"}})
		p := oaRedeemParams(e.plain, f)
		p["code_verifier"] = ""
		_, err := e.token(oaBasic(e.plain), p)
		oaWantErrCode(t, err, broker.InvalidGrant)
		if !spy.issued {
			t.Fatal("the store did not store a pair: this test no longer reaches the fail-closed path")
		}
		now := e.clock.Now()
		if _, err := s.LookupAccessToken(e.ctx, spy.last.AccessHash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the stored access token after a refused redemption: %v, want ErrNotFound", err)
		}
		if _, err := s.LookupRefreshToken(e.ctx, spy.last.RefreshHash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the stored refresh token after a refused redemption: %v, want ErrNotFound", err)
		}
		// The code is spent: presenting it again is reuse.
		p["code_verifier"] = "anything"
		_, err = e.token(oaBasic(e.plain), p)
		oaWantErrCode(t, err, broker.InvalidGrant)
	})
}
