package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/enterprise-connect/broker/store"
)

// saFamily returns the service-account family fid of grant g.
func saFamily(fid string, g store.Grant) store.Family {
	return store.Family{ID: fid, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain, Kind: store.KindServiceAccount, Subject: g.ID}
}

// subjectFamily returns a per-subject (SPEC §5) family of grant g.
func subjectFamily(fid string, g store.Grant, subject string) store.Family {
	return store.Family{ID: fid, GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain, Kind: store.KindAccount, Subject: subject}
}

// newAccess returns an access token of f issued at issued, living 30 minutes.
func newAccess(value string, f store.Family, issued time.Time) store.AccessToken {
	return store.AccessToken{
		Hash:           hashOf(value),
		FamilyID:       f.ID,
		GrantID:        f.GrantID,
		ClientID:       f.ClientID,
		Domain:         f.Domain,
		Kind:           f.Kind,
		Subject:        f.Subject,
		Scope:          "service_account/accounts/manage",
		DelegatedScope: "read_account read_free_busy",
		IssuedAt:       issued,
		ExpiresAt:      issued.Add(30 * time.Minute),
	}
}

// newRefresh returns a refresh token of f issued at issued, without expiry of its own.
func newRefresh(value string, f store.Family, issued time.Time) store.RefreshToken {
	return store.RefreshToken{
		Hash:           hashOf(value),
		FamilyID:       f.ID,
		GrantID:        f.GrantID,
		ClientID:       f.ClientID,
		Domain:         f.Domain,
		Kind:           f.Kind,
		Subject:        f.Subject,
		Scope:          "service_account/accounts/manage",
		DelegatedScope: "read_account read_free_busy",
		IssuedAt:       issued,
	}
}

// ignoreRefreshUsed: whether RotateRefresh's returned old record shows Used is not part of
// the contract.
var ignoreRefreshUsed = cmpopts.IgnoreFields(store.RefreshToken{}, "Used")

// issue stores f with access and refresh, failing the test on error.
func issue(t *testing.T, s store.Store, f store.Family, access *store.AccessToken, refresh *store.RefreshToken) {
	t.Helper()
	must(t, "IssueTokens "+f.ID, s.IssueTokens(t.Context(), f, access, refresh))
}

// wantAccess checks LookupAccessToken(a.Hash, now): want nil means it must return a.
func wantAccess(t *testing.T, s store.Store, what string, a store.AccessToken, now time.Time, want error) {
	t.Helper()
	got, err := s.LookupAccessToken(t.Context(), a.Hash, now)
	if want != nil || err != nil {
		if !errors.Is(err, want) {
			t.Errorf("LookupAccessToken %s: got error %v, want %v", what, err, want)
		}
		return
	}
	if d := diff(a, got); d != "" {
		t.Errorf("LookupAccessToken %s (-want +got):\n%s", what, d)
	}
}

// wantRefresh checks LookupRefreshToken(r.Hash, now): want nil means it must return r.
func wantRefresh(t *testing.T, s store.Store, what string, r store.RefreshToken, now time.Time, want error) {
	t.Helper()
	got, err := s.LookupRefreshToken(t.Context(), r.Hash, now)
	if want != nil || err != nil {
		if !errors.Is(err, want) {
			t.Errorf("LookupRefreshToken %s: got error %v, want %v", what, err, want)
		}
		return
	}
	if d := diff(r, got); d != "" {
		t.Errorf("LookupRefreshToken %s (-want +got):\n%s", what, d)
	}
}

func testTokens(t *testing.T, open Opener) {
	t.Run("IssueLookupRoundTrip", func(t *testing.T) {
		_, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_sa", g)
		a := newAccess("access", f, at(21*ms))
		r := newRefresh("refresh", f, at(21*ms))
		r.ExpiresAt = at(24 * time.Hour)
		issue(t, s, f, &a, &r)
		wantAccess(t, s, "", a, at(time.Minute), nil)
		wantRefresh(t, s, "", r, at(time.Minute), nil)

		sf := subjectFamily("fam_alice", g, "alice@example.com")
		sr := newRefresh("subject refresh", sf, at(time.Second))
		sr.Scope, sr.DelegatedScope = "read_account", ""
		issue(t, s, sf, nil, &sr)
		wantRefresh(t, s, "per-subject", sr, at(time.Minute), nil)

		wantAccess(t, s, "unknown", newAccess("never issued", f, at(0)), at(0), store.ErrNotFound)
		wantRefresh(t, s, "unknown", newRefresh("never issued", f, at(0)), at(0), store.ErrNotFound)
		// An access hash is not a refresh hash and the other way round.
		_, err := s.LookupRefreshToken(t.Context(), a.Hash, at(time.Minute))
		wantErr(t, "LookupRefreshToken of an access token", err, store.ErrNotFound)
		_, err = s.LookupAccessToken(t.Context(), r.Hash, at(time.Minute))
		wantErr(t, "LookupAccessToken of a refresh token", err, store.ErrNotFound)
	})
	t.Run("IssueNilPartsAndReuseFamily", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		must(t, "IssueTokens with neither token", s.IssueTokens(ctx, f, nil, nil))
		r := newRefresh("refresh", f, at(0))
		issue(t, s, f, nil, &r)
		a := newAccess("access", f, at(time.Second))
		issue(t, s, f, &a, nil)
		a2 := newAccess("access 2", f, at(2*time.Second))
		r2 := newRefresh("refresh 2", f, at(2*time.Second))
		issue(t, s, f, &a2, &r2)
		for _, x := range []store.AccessToken{a, a2} {
			wantAccess(t, s, "in a reused family", x, at(time.Minute), nil)
		}
		for _, x := range []store.RefreshToken{r, r2} {
			wantRefresh(t, s, "in a reused family", x, at(time.Minute), nil)
		}
		// One family: revoking it ends every token issued into it.
		must(t, "RevokeFamily", s.RevokeFamily(ctx, f.ID))
		for _, x := range []store.AccessToken{a, a2} {
			wantAccess(t, s, "after RevokeFamily", x, at(time.Minute), store.ErrNotFound)
		}
		for _, x := range []store.RefreshToken{r, r2} {
			wantRefresh(t, s, "after RevokeFamily", x, at(time.Minute), store.ErrNotFound)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		_, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		a := newAccess("access", f, at(0))
		r := newRefresh("expiring refresh", f, at(0))
		r.ExpiresAt = at(time.Hour)
		forever := newRefresh("refresh without expiry", f, at(0))
		issue(t, s, f, &a, &r)
		issue(t, s, f, nil, &forever)
		wantAccess(t, s, "just before ExpiresAt", a, a.ExpiresAt.Add(-ms), nil)
		wantAccess(t, s, "after ExpiresAt", a, a.ExpiresAt.Add(ms), store.ErrNotFound)
		wantRefresh(t, s, "just before ExpiresAt", r, r.ExpiresAt.Add(-ms), nil)
		wantRefresh(t, s, "after ExpiresAt", r, r.ExpiresAt.Add(ms), store.ErrNotFound)
		wantRefresh(t, s, "with zero ExpiresAt, years later", forever, at(5*365*24*time.Hour), nil)
	})
	t.Run("IssueIntoRevokedFamily", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		a := newAccess("access", f, at(0))
		issue(t, s, f, &a, nil)
		must(t, "RevokeFamily", s.RevokeFamily(ctx, f.ID))
		a2 := newAccess("access 2", f, at(time.Second))
		r2 := newRefresh("refresh 2", f, at(time.Second))
		wantErr(t, "IssueTokens into a revoked family", s.IssueTokens(ctx, f, &a2, &r2), store.ErrNotFound)
		wantAccess(t, s, "refused by IssueTokens", a2, at(time.Minute), store.ErrNotFound)
		wantRefresh(t, s, "refused by IssueTokens", r2, at(time.Minute), store.ErrNotFound)
	})
	t.Run("Rotate", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		a1, r1 := newAccess("access 1", f, at(0)), newRefresh("refresh 1", f, at(0))
		issue(t, s, f, &a1, &r1)

		a2, r2 := newAccess("access 2", f, at(10*time.Minute)), newRefresh("refresh 2", f, at(10*time.Minute))
		old, err := s.RotateRefresh(ctx, r1.Hash, at(10*time.Minute), &a2, r2)
		must(t, "RotateRefresh", err)
		if d := diff(r1, old, ignoreRefreshUsed); d != "" {
			t.Errorf("RotateRefresh must return the old record (-want +got):\n%s", d)
		}
		wantRefresh(t, s, "rotated", r1, at(10*time.Minute), store.ErrNotFound)
		wantRefresh(t, s, "new", r2, at(10*time.Minute), nil)
		wantAccess(t, s, "new", a2, at(10*time.Minute), nil)

		// Rotating without an access token (a per-subject family) chains on.
		r3 := newRefresh("refresh 3", f, at(20*time.Minute))
		if _, err := s.RotateRefresh(ctx, r2.Hash, at(20*time.Minute), nil, r3); err != nil {
			t.Fatalf("RotateRefresh without access: %v", err)
		}
		wantRefresh(t, s, "second rotation", r3, at(20*time.Minute), nil)
		wantAccess(t, s, "of the first rotation", a2, at(20*time.Minute), nil)

		// Replaying the first refresh token: ErrUsed with its record, nothing stored.
		a4, r4 := newAccess("access 4", f, at(25*time.Minute)), newRefresh("refresh 4", f, at(25*time.Minute))
		old, err = s.RotateRefresh(ctx, r1.Hash, at(25*time.Minute), &a4, r4)
		wantErr(t, "RotateRefresh replay", err, store.ErrUsed)
		if d := diff(r1, old, ignoreRefreshUsed); d != "" {
			t.Errorf("a replay must return the old record, so the caller can revoke its family (-want +got):\n%s", d)
		}
		wantRefresh(t, s, "offered in a replay", r4, at(25*time.Minute), store.ErrNotFound)
		wantAccess(t, s, "offered in a replay", a4, at(25*time.Minute), store.ErrNotFound)
		wantRefresh(t, s, "current, after a replay", r3, at(25*time.Minute), nil)
	})
	t.Run("RotateRefused", testRotateRefused(open))
	t.Run("RotateRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		r := newRefresh("raced", f, at(0))
		issue(t, s, f, nil, &r)
		const n = 50
		nexts := make([]store.RefreshToken, n)
		accesses := make([]store.AccessToken, n)
		olds := make([]store.RefreshToken, n)
		for i := range n {
			nexts[i] = newRefresh(name("next %d", i), f, at(time.Minute))
			accesses[i] = newAccess(name("access %d", i), f, at(time.Minute))
		}
		errs := race(n, func(i int) error {
			var err error
			olds[i], err = s.RotateRefresh(ctx, r.Hash, at(time.Minute), &accesses[i], nexts[i])
			return err
		})
		if wins, losses := tally(t, errs, store.ErrUsed); wins != 1 || losses != n-1 {
			t.Errorf("%d concurrent RotateRefresh: %d won, %d ErrUsed; want 1 and %d", n, wins, losses, n-1)
		}
		for i, err := range errs {
			if err != nil && !errors.Is(err, store.ErrUsed) {
				continue
			}
			if d := diff(r, olds[i], ignoreRefreshUsed); d != "" {
				t.Errorf("goroutine %d (err %v) must get the old record (-want +got):\n%s", i, err, d)
			}
			want := store.ErrNotFound
			if err == nil {
				want = nil
			}
			wantRefresh(t, s, name("offered by goroutine %d", i), nexts[i], at(time.Minute), want)
			wantAccess(t, s, name("offered by goroutine %d", i), accesses[i], at(time.Minute), want)
		}
	})
	testRevocation(t, open)
	testDelegated(t, open)
}

func testRotateRefused(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		gone := newGrant(id("ser_", "2"), "cli_2", "example.com", at(0))
		createGrant(t, s, g, "")
		createGrant(t, s, gone, "")
		live, revokedFam, ofGone := saFamily("fam_live", g), saFamily("fam_revoked", g), saFamily("fam_gone", gone)
		expiring := newRefresh("expiring", live, at(0))
		expiring.ExpiresAt = at(time.Hour)
		inRevoked := newRefresh("in revoked family", revokedFam, at(0))
		inGone := newRefresh("of revoked grant", ofGone, at(0))
		issue(t, s, live, nil, &expiring)
		issue(t, s, revokedFam, nil, &inRevoked)
		issue(t, s, ofGone, nil, &inGone)
		must(t, "RevokeFamily", s.RevokeFamily(ctx, revokedFam.ID))
		_, err := s.RevokeGrant(ctx, gone.ID, at(time.Minute))
		must(t, "RevokeGrant", err)

		tests := []struct {
			name string
			old  store.RefreshToken
			fam  store.Family
			now  time.Time
		}{
			{"unknown", newRefresh("never issued", live, at(0)), live, at(time.Minute)},
			{"expired", expiring, live, expiring.ExpiresAt.Add(ms)},
			{"revoked family", inRevoked, revokedFam, at(2 * time.Minute)},
			{"revoked grant", inGone, ofGone, at(2 * time.Minute)},
		}
		for _, tc := range tests {
			next := newRefresh("next after "+tc.name, tc.fam, tc.now)
			access := newAccess("access after "+tc.name, tc.fam, tc.now)
			_, err := s.RotateRefresh(ctx, tc.old.Hash, tc.now, &access, next)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RotateRefresh %s: got error %v, want %v", tc.name, err, store.ErrNotFound)
			}
			wantRefresh(t, s, "offered in a refused rotation ("+tc.name+")", next, tc.now, store.ErrNotFound)
			wantAccess(t, s, "offered in a refused rotation ("+tc.name+")", access, tc.now, store.ErrNotFound)
		}
	}
}
