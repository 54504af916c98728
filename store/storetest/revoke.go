package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// delegated names a delegated JWT of grant g for CheckDelegated.
func delegated(g store.Grant, subject, jti, familyID string, issued time.Time) store.DelegatedCheck {
	return store.DelegatedCheck{GrantID: g.ID, Subject: subject, JTI: jti, FamilyID: familyID, IssuedAt: issued}
}

// wantDelegated checks CheckDelegated(c) against want and returns its status.
func wantDelegated(t *testing.T, s store.Store, what string, c store.DelegatedCheck, want error) store.DelegatedStatus {
	t.Helper()
	st, err := s.CheckDelegated(t.Context(), c)
	if !errors.Is(err, want) {
		t.Errorf("CheckDelegated %s (%s, jti %s, family %q, iat %v): got error %v, want %v",
			what, c.Subject, c.JTI, c.FamilyID, c.IssuedAt, err, want)
	}
	return st
}

// grantTokens is the set of live tokens of one grant: a service-account family with an
// access and a refresh token, and a per-subject family with a refresh token.
type grantTokens struct {
	grant          store.Grant
	sa, subject    store.Family
	access         store.AccessToken
	refresh, subjR store.RefreshToken
}

// issueGrantTokens creates g and issues its tokens.
func issueGrantTokens(t *testing.T, s store.Store, g store.Grant, wantReplaced string) grantTokens {
	t.Helper()
	createGrant(t, s, g, wantReplaced)
	x := grantTokens{grant: g, sa: saFamily("fam_sa_"+g.ID, g), subject: subjectFamily("fam_alice_"+g.ID, g, "alice@"+g.Domain)}
	x.access = newAccess("access of "+g.ID, x.sa, g.ApprovedAt)
	x.refresh = newRefresh("refresh of "+g.ID, x.sa, g.ApprovedAt)
	x.subjR = newRefresh("alice refresh of "+g.ID, x.subject, g.ApprovedAt)
	issue(t, s, x.sa, &x.access, &x.refresh)
	issue(t, s, x.subject, nil, &x.subjR)
	return x
}

// check asserts that every token of x is good (want nil) or refused with ErrNotFound,
// through every lookup: access, refresh, rotation, and delegated JWTs with and without the
// per-subject family.
func (x grantTokens) check(t *testing.T, s store.Store, what string, now time.Time, want error) {
	t.Helper()
	wantAccess(t, s, what, x.access, now, want)
	wantRefresh(t, s, what, x.refresh, now, want)
	wantRefresh(t, s, what+" (per-subject)", x.subjR, now, want)
	wantDelegated(t, s, what+" (per-subject family)", delegated(x.grant, x.subject.Subject, "jti-fam-"+x.grant.ID, x.subject.ID, now), want)
	wantDelegated(t, s, what+" (no family)", delegated(x.grant, "bob@"+x.grant.Domain, "jti-bob-"+x.grant.ID, "", now), want)
	if want == nil {
		return // keep the live tokens live; rotation is covered elsewhere
	}
	a, next := rotate(t, s, what, x.refresh, now, rotation(x.refresh.ClientID, "next of "+x.refresh.Hash, now), want)
	wantRefresh(t, s, what+": offered in a refused rotation", next, now, store.ErrNotFound)
	wantAccess(t, s, what+": offered in a refused rotation", a, now, store.ErrNotFound)
}

func testRevocation(t *testing.T, open Opener) {
	t.Run("RevokeFamily", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f1, f2 := saFamily("fam_1", g), saFamily("fam_2", g)
		a1, r1 := newAccess("access 1", f1, at(0)), newRefresh("refresh 1", f1, at(0))
		a2, r2 := newAccess("access 2", f2, at(0)), newRefresh("refresh 2", f2, at(0))
		issue(t, s, f1, &a1, &r1)
		issue(t, s, f2, &a2, &r2)
		sf := subjectFamily("fam_alice", g, "alice@example.com")
		issue(t, s, sf, nil, nil)

		must(t, "RevokeFamily", s.RevokeFamily(ctx, f1.ID))
		must(t, "RevokeFamily", s.RevokeFamily(ctx, sf.ID))
		now := at(time.Minute)
		wantAccess(t, s, "of the revoked family", a1, now, store.ErrNotFound)
		wantRefresh(t, s, "of the revoked family", r1, now, store.ErrNotFound)
		rotate(t, s, "in the revoked family", r1, now, rotation(g.ClientID, "next 1", now), store.ErrNotFound)
		wantDelegated(t, s, "of the revoked family", delegated(g, sf.Subject, "jti-1", sf.ID, now), store.ErrNotFound)

		wantAccess(t, s, "of another family", a2, now, nil)
		wantRefresh(t, s, "of another family", r2, now, nil)
		wantDelegated(t, s, "of another family", delegated(g, "bob@example.com", "jti-2", f2.ID, now), nil)
		wantDelegated(t, s, "without a family", delegated(g, sf.Subject, "jti-3", "", now), nil)

		must(t, "RevokeFamily again", s.RevokeFamily(ctx, f1.ID))
		must(t, "RevokeFamily unknown", s.RevokeFamily(ctx, "fam_unknown"))
	})
	t.Run("RevokeGrant", func(t *testing.T) {
		ctx, s := fresh(t, open)
		x := issueGrantTokens(t, s, newGrant(id("ser_", "1"), "cli_1", "example.com", at(0)), "")
		otherClient := issueGrantTokens(t, s, newGrant(id("ser_", "2"), "cli_2", "example.com", at(0)), "")
		otherDomain := issueGrantTokens(t, s, newGrant(id("ser_", "3"), "cli_1", "other.example", at(0)), "")
		x.check(t, s, "before RevokeGrant", at(time.Minute), nil)

		_, err := s.RevokeGrant(ctx, x.grant.ID, at(10*time.Minute))
		must(t, "RevokeGrant", err)
		now := at(10*time.Minute + time.Second)
		x.check(t, s, "of the revoked grant", now, store.ErrNotFound)
		otherClient.check(t, s, "of another client's grant", now, nil)
		otherDomain.check(t, s, "of another domain's grant", now, nil)
	})
	t.Run("ReplacedGrant", func(t *testing.T) {
		_, s := fresh(t, open)
		old := issueGrantTokens(t, s, newGrant(id("ser_", "old"), "cli_1", "example.com", at(0)), "")
		other := issueGrantTokens(t, s, newGrant(id("ser_", "other"), "cli_2", "example.com", at(0)), "")
		// SPEC §0: a new approval revokes the old grant and everything minted from it.
		next := issueGrantTokens(t, s, newGrant(id("ser_", "new"), "cli_1", "example.com", at(10*time.Minute)), old.grant.ID)
		now := at(10*time.Minute + time.Second)
		old.check(t, s, "of the replaced grant", now, store.ErrNotFound)
		next.check(t, s, "of the new grant", now, nil)
		other.check(t, s, "of another client's grant", now, nil)
	})
	t.Run("RevokeAccessToken", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		f := saFamily("fam_1", g)
		a1, a2, r := newAccess("access 1", f, at(0)), newAccess("access 2", f, at(0)), newRefresh("refresh", f, at(0))
		issue(t, s, f, &a1, &r)
		issue(t, s, f, &a2, nil)
		must(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, a1.Hash))
		wantAccess(t, s, "revoked", a1, at(time.Minute), store.ErrNotFound)
		wantAccess(t, s, "of the same family", a2, at(time.Minute), nil)
		wantRefresh(t, s, "of the same family", r, at(time.Minute), nil)
		a3, _ := rotate(t, s, "after RevokeAccessToken", r, at(time.Minute), rotation(g.ClientID, "3", at(time.Minute)), nil)
		wantAccess(t, s, "rotated after RevokeAccessToken", a3, at(time.Minute), nil)
		must(t, "RevokeAccessToken again", s.RevokeAccessToken(ctx, a1.Hash))
		must(t, "RevokeAccessToken unknown", s.RevokeAccessToken(ctx, hashOf("never issued")))
	})
}
