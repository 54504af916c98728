package storetest

import (
	"errors"
	"testing"
	"time"

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

// rotation names the successors of a refresh token of clientID, issued at issued: a refresh
// token expiring 90 days later and an access token living 30 minutes, both at odd
// milliseconds so that a backend rounding or re-encoding times shows.
func rotation(clientID, value string, issued time.Time) store.RefreshRotation {
	return store.RefreshRotation{
		ClientID:         clientID,
		IssuedAt:         issued,
		RefreshHash:      hashOf("refresh " + value),
		RefreshExpiresAt: issued.Add(90*24*time.Hour + 7*ms),
		AccessHash:       hashOf("access " + value),
		AccessExpiresAt:  issued.Add(30*time.Minute + 1*ms),
	}
}

// successors returns what RotateRefresh(old, r) must store: copies of old with r's hashes
// and times. The access token is stored only when old is a service-account token.
func successors(old store.RefreshToken, r store.RefreshRotation) (store.AccessToken, store.RefreshToken) {
	next := old
	next.Hash, next.IssuedAt, next.ExpiresAt, next.Used = r.RefreshHash, r.IssuedAt, r.RefreshExpiresAt, false
	a := store.AccessToken{Hash: r.AccessHash, FamilyID: old.FamilyID, GrantID: old.GrantID, ClientID: old.ClientID,
		Domain: old.Domain, Kind: old.Kind, Subject: old.Subject, Scope: old.Scope, DelegatedScope: old.DelegatedScope,
		IssuedAt: r.IssuedAt, ExpiresAt: r.AccessExpiresAt}
	return a, next
}

// rotate calls RotateRefresh(old.Hash, now, r) and checks the outcome: want nil means it
// must succeed and return old as stored (Used false); ErrUsed and ErrWrongClient must
// return old too (Used true after a use). It returns the successors r names.
func rotate(t *testing.T, s store.Store, what string, old store.RefreshToken, now time.Time, r store.RefreshRotation, want error) (store.AccessToken, store.RefreshToken) {
	t.Helper()
	got, err := s.RotateRefresh(t.Context(), old.Hash, now, r)
	if !errors.Is(err, want) {
		t.Errorf("RotateRefresh %s: got error %v, want %v", what, err, want)
	}
	if want == nil || errors.Is(want, store.ErrUsed) || errors.Is(want, store.ErrWrongClient) {
		wantOld := old
		wantOld.Used = errors.Is(want, store.ErrUsed)
		if d := diff(wantOld, got); d != "" {
			t.Errorf("RotateRefresh %s must return the old record (-want +got):\n%s", what, d)
		}
	}
	return successors(old, r)
}

// wantExactTimes fails unless got and want are the same instants, to the nanosecond: the
// suite's times are whole milliseconds, the unit every backend stores.
func wantExactTimes(t *testing.T, what string, got, want []time.Time) {
	t.Helper()
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("%s: time %d = %v, want exactly %v", what, i, got[i], want[i])
		}
	}
}

// liveRefresh creates grant ser_1 of cli_1 for example.com and issues, in its
// service-account family fam_1, a refresh token of value issued at 0.
func liveRefresh(t *testing.T, s store.Store, value string) (store.Grant, store.RefreshToken) {
	t.Helper()
	g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
	createGrant(t, s, g, "")
	f := saFamily("fam_1", g)
	r := newRefresh(value, f, at(0))
	issue(t, s, f, nil, &r)
	return g, r
}

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
	t.Run("IssueIntoRevokedGrant", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		live := newGrant(id("ser_", "live"), "cli_2", "example.com", at(0))
		createGrant(t, s, g, "")
		createGrant(t, s, live, "")
		existing := saFamily("fam_existing", g)
		a0 := newAccess("access 0", existing, at(0))
		issue(t, s, existing, &a0, nil)
		_, err := s.RevokeGrant(ctx, g.ID, at(time.Minute))
		must(t, "RevokeGrant", err)
		for _, f := range []store.Family{saFamily("fam_new", g), existing, subjectFamily("fam_alice", g, "alice@example.com")} {
			// The tokens name a live grant, so that a lookup would find them had they been
			// written: the refusal is decided by f.GrantID and writes nothing.
			a := newAccess("access in "+f.ID, f, at(2*time.Minute))
			r := newRefresh("refresh in "+f.ID, f, at(2*time.Minute))
			a.GrantID, r.GrantID = live.ID, live.ID
			wantErr(t, "IssueTokens into "+f.ID+" of a revoked grant", s.IssueTokens(ctx, f, &a, &r), store.ErrNotFound)
			wantAccess(t, s, "refused by IssueTokens", a, at(2*time.Minute), store.ErrNotFound)
			wantRefresh(t, s, "refused by IssueTokens", r, at(2*time.Minute), store.ErrNotFound)
		}
		// A grant id the store does not know is accepted, as the lookups accept it.
		unknown := saFamily("fam_unknown_grant", newGrant(id("ser_", "unknown"), "cli_1", "example.com", at(0)))
		a, r := newAccess("access of an unknown grant", unknown, at(0)), newRefresh("refresh of an unknown grant", unknown, at(0))
		issue(t, s, unknown, &a, &r)
		wantAccess(t, s, "of an unknown grant", a, at(time.Minute), nil)
		wantRefresh(t, s, "of an unknown grant", r, at(time.Minute), nil)
	})
	t.Run("Rotate", func(t *testing.T) {
		_, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		a1, r1 := newAccess("access 1", f, at(0)), newRefresh("refresh 1", f, at(0))
		r1.ExpiresAt = at(24 * time.Hour)
		issue(t, s, f, &a1, &r1)

		// The successors copy every field of the old token, with the rotation's hashes and
		// times to the millisecond.
		now := at(10*time.Minute + 987*ms)
		rot2 := rotation(g.ClientID, "2", now)
		a2, r2 := rotate(t, s, "", r1, now, rot2, nil)
		wantRefresh(t, s, "rotated", r1, now, store.ErrNotFound)
		wantRefresh(t, s, "new", r2, now, nil)
		wantAccess(t, s, "new", a2, now, nil)
		gotR, err := s.LookupRefreshToken(t.Context(), r2.Hash, now)
		must(t, "LookupRefreshToken", err)
		gotA, err := s.LookupAccessToken(t.Context(), a2.Hash, now)
		must(t, "LookupAccessToken", err)
		wantExactTimes(t, "new refresh token", []time.Time{gotR.IssuedAt, gotR.ExpiresAt}, []time.Time{rot2.IssuedAt, rot2.RefreshExpiresAt})
		wantExactTimes(t, "new access token", []time.Time{gotA.IssuedAt, gotA.ExpiresAt}, []time.Time{rot2.IssuedAt, rot2.AccessExpiresAt})
		wantAccess(t, s, "of the old token, until it expires", a1, now, nil)
		wantRefresh(t, s, "new, just before its own ExpiresAt", r2, r2.ExpiresAt.Add(-ms), nil)
		wantRefresh(t, s, "new, at its own ExpiresAt", r2, r2.ExpiresAt, store.ErrNotFound)
		wantAccess(t, s, "new, at its own ExpiresAt", a2, a2.ExpiresAt, store.ErrNotFound)

		// Without an access token, and with a refresh token without expiry: the chain goes on.
		rot3 := rotation(g.ClientID, "3", at(20*time.Minute))
		rot3.AccessHash, rot3.RefreshExpiresAt = "", time.Time{}
		_, r3 := rotate(t, s, "without access", r2, at(20*time.Minute), rot3, nil)
		wantRefresh(t, s, "without expiry, years later", r3, at(5*365*24*time.Hour), nil)
		wantAccess(t, s, "of the first rotation", a2, at(20*time.Minute), nil)

		// Replaying the first refresh token: ErrUsed with its record, nothing stored, also
		// when another client replays it (use is checked before the client).
		for _, client := range []string{g.ClientID, "cli_other"} {
			rot4 := rotation(client, "4 by "+client, at(25*time.Minute))
			a4, r4 := rotate(t, s, "replay by "+client, r1, at(25*time.Minute), rot4, store.ErrUsed)
			wantRefresh(t, s, "offered in a replay", r4, at(25*time.Minute), store.ErrNotFound)
			wantAccess(t, s, "offered in a replay", a4, at(25*time.Minute), store.ErrNotFound)
		}
		wantRefresh(t, s, "current, after a replay", r3, at(25*time.Minute), nil)
	})
	t.Run("RotatePerSubject", func(t *testing.T) {
		_, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		for _, kind := range []store.TokenKind{store.KindAccount, store.KindResource} {
			f := subjectFamily("fam_"+string(kind), g, string(kind)+"@example.com")
			f.Kind = kind
			r := newRefresh("refresh of "+f.ID, f, at(0))
			r.Scope, r.DelegatedScope = "read_account read_events", ""
			issue(t, s, f, nil, &r)
			// An access hash is ignored for a per-subject token: its access tokens are
			// delegated JWTs, minted by the broker.
			rot := rotation(g.ClientID, "next of "+f.ID, at(time.Minute+3*ms))
			a, next := rotate(t, s, string(kind), r, at(time.Minute), rot, nil)
			wantRefresh(t, s, "successor of a "+string(kind)+" token", next, at(time.Minute), nil)
			wantAccess(t, s, "offered for a "+string(kind)+" token", a, at(time.Minute), store.ErrNotFound)
		}
	})
	t.Run("RotateWrongClient", func(t *testing.T) {
		_, s := fresh(t, open)
		g, r := liveRefresh(t, s, "refresh")
		for _, client := range []string{"cli_other", ""} {
			rot := rotation(client, "by "+client, at(time.Minute))
			a, next := rotate(t, s, "by client "+client, r, at(time.Minute), rot, store.ErrWrongClient)
			wantRefresh(t, s, "offered by another client", next, at(time.Minute), store.ErrNotFound)
			wantAccess(t, s, "offered by another client", a, at(time.Minute), store.ErrNotFound)
		}
		// Nothing was changed: the token is still live and rotates for its own client.
		wantRefresh(t, s, "after another client's attempt", r, at(time.Minute), nil)
		a, next := rotate(t, s, "by its own client", r, at(2*time.Minute), rotation(g.ClientID, "own", at(2*time.Minute)), nil)
		wantRefresh(t, s, "rotated by its own client", next, at(2*time.Minute), nil)
		wantAccess(t, s, "rotated by its own client", a, at(2*time.Minute), nil)
	})
	t.Run("RotateRefused", testRotateRefused(open))
	t.Run("RotateRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g, r := liveRefresh(t, s, "raced")
		const n = 50
		rots := make([]store.RefreshRotation, n)
		olds := make([]store.RefreshToken, n)
		for i := range n {
			rots[i] = rotation(g.ClientID, name("%d", i), at(time.Minute))
		}
		errs := race(n, func(i int) error {
			var err error
			olds[i], err = s.RotateRefresh(ctx, r.Hash, at(time.Minute), rots[i])
			return err
		})
		if wins, losses := tally(t, errs, store.ErrUsed); wins != 1 || losses != n-1 {
			t.Errorf("%d concurrent RotateRefresh: %d won, %d ErrUsed; want 1 and %d", n, wins, losses, n-1)
		}
		for i, err := range errs {
			if err != nil && !errors.Is(err, store.ErrUsed) {
				continue
			}
			wantOld := r
			wantOld.Used = err != nil
			if d := diff(wantOld, olds[i]); d != "" {
				t.Errorf("goroutine %d (err %v) must get the old record (-want +got):\n%s", i, err, d)
			}
			want := store.ErrNotFound
			if err == nil {
				want = nil
			}
			a, next := successors(r, rots[i])
			wantRefresh(t, s, name("offered by goroutine %d", i), next, at(time.Minute), want)
			wantAccess(t, s, name("offered by goroutine %d", i), a, at(time.Minute), want)
		}
	})
	testRevocation(t, open)
	testDelegated(t, open)
}

func testRotateRefused(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		gone := newGrant(id("ser_", "2"), "cli_1", "other.example", at(0))
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
			name   string
			old    store.RefreshToken
			now    time.Time
			client string
		}{
			{"unknown", newRefresh("never issued", live, at(0)), at(time.Minute), "cli_1"},
			{"expired", expiring, expiring.ExpiresAt, "cli_1"},
			{"expired, by another client", expiring, expiring.ExpiresAt.Add(ms), "cli_other"},
			{"revoked family", inRevoked, at(2 * time.Minute), "cli_1"},
			{"revoked grant", inGone, at(2 * time.Minute), "cli_1"},
			{"revoked grant, by another client", inGone, at(2 * time.Minute), "cli_other"},
		}
		for _, tc := range tests {
			a, next := rotate(t, s, tc.name, tc.old, tc.now, rotation(tc.client, "after "+tc.name, tc.now), store.ErrNotFound)
			wantRefresh(t, s, "offered in a refused rotation ("+tc.name+")", next, tc.now, store.ErrNotFound)
			wantAccess(t, s, "offered in a refused rotation ("+tc.name+")", a, tc.now, store.ErrNotFound)
		}
		// A refusal changes nothing: at a now before its expiry the token is still live.
		wantRefresh(t, s, "expired, after a refused rotation", expiring, at(2*time.Minute), nil)
	}
}
