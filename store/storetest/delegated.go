package storetest

import (
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

func testDelegated(t *testing.T, open Opener) {
	t.Run("RevokeSubject", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		g2 := newGrant(id("ser_", "2"), "cli_2", "example.com", at(0))
		createGrant(t, s, g, "")
		createGrant(t, s, g2, "")
		const alice, bob = "alice@example.com", "bob@example.com"
		fA, fA2 := subjectFamily("fam_alice", g, alice), subjectFamily("fam_alice_2", g, alice)
		fB, fSA, fOther := subjectFamily("fam_bob", g, bob), saFamily("fam_sa", g), subjectFamily("fam_alice_g2", g2, alice)
		rA, rA2 := newRefresh("alice", fA, at(0)), newRefresh("alice 2", fA2, at(0))
		rB, rOther := newRefresh("bob", fB, at(0)), newRefresh("alice of g2", fOther, at(0))
		aSA, rSA := newAccess("sa access", fSA, at(9*time.Minute)), newRefresh("sa refresh", fSA, at(0))
		issue(t, s, fA, nil, &rA)
		issue(t, s, fA2, nil, &rA2)
		issue(t, s, fB, nil, &rB)
		issue(t, s, fOther, nil, &rOther)
		issue(t, s, fSA, &aSA, &rSA)

		revokedAt := at(10 * time.Minute)
		must(t, "RevokeSubject", s.RevokeSubject(ctx, g.ID, alice, revokedAt))
		now := at(11 * time.Minute)
		wantRefresh(t, s, "of the revoked subject", rA, now, store.ErrNotFound)
		wantRefresh(t, s, "of the revoked subject's second family", rA2, now, store.ErrNotFound)
		_, err := s.RotateRefresh(ctx, rA.Hash, now, rotation(g.ClientID, "alice next", now))
		wantErr(t, "RotateRefresh of the revoked subject", err, store.ErrNotFound)
		wantDelegated(t, s, "issued before", delegated(g, alice, "jti-1", "", revokedAt.Add(-time.Second)), store.ErrNotFound)
		wantDelegated(t, s, "issued at the revocation", delegated(g, alice, "jti-2", "", revokedAt), store.ErrNotFound)
		wantDelegated(t, s, "issued after", delegated(g, alice, "jti-3", "", revokedAt.Add(time.Second)), nil)
		wantDelegated(t, s, "issued after, in a revoked family", delegated(g, alice, "jti-4", fA.ID, revokedAt.Add(time.Second)), store.ErrNotFound)

		wantRefresh(t, s, "of another subject", rB, now, nil)
		wantDelegated(t, s, "of another subject", delegated(g, bob, "jti-5", "", revokedAt.Add(-time.Second)), nil)
		wantAccess(t, s, "of the service account", aSA, now, nil)
		wantRefresh(t, s, "of the service account", rSA, now, nil)
		wantRefresh(t, s, "of the subject under another grant", rOther, now, nil)
		wantDelegated(t, s, "of the subject under another grant", delegated(g2, alice, "jti-6", fOther.ID, revokedAt.Add(-time.Second)), nil)

		// The subject authorizes again afterwards: the new family works.
		fNew := subjectFamily("fam_alice_new", g, alice)
		rNew := newRefresh("alice new", fNew, at(12*time.Minute))
		issue(t, s, fNew, nil, &rNew)
		wantRefresh(t, s, "of a family issued after the revocation", rNew, at(12*time.Minute), nil)
		wantDelegated(t, s, "of a family issued after the revocation", delegated(g, alice, "jti-7", fNew.ID, at(12*time.Minute)), nil)
		rotate(t, s, "in a family issued after the revocation", rNew, at(13*time.Minute),
			rotation(g.ClientID, "alice new next", at(13*time.Minute)), nil)

		// Revocations accumulate: a later one widens the cut, an earlier one never narrows it.
		must(t, "RevokeSubject later", s.RevokeSubject(ctx, g.ID, alice, at(20*time.Minute)))
		must(t, "RevokeSubject earlier", s.RevokeSubject(ctx, g.ID, alice, at(5*time.Minute)))
		wantDelegated(t, s, "issued before the later revocation", delegated(g, alice, "jti-8", "", at(15*time.Minute)), store.ErrNotFound)
		wantDelegated(t, s, "issued after every revocation", delegated(g, alice, "jti-9", "", at(21*time.Minute)), nil)
	})
	t.Run("DenyJTI", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		c := delegated(g, "alice@example.com", "jti-denied", "", at(0))
		wantDelegated(t, s, "before DenyJTI", c, nil)
		must(t, "DenyJTI", s.DenyJTI(ctx, c.JTI, at(10*time.Minute)))
		wantDelegated(t, s, "denied", c, store.ErrNotFound)
		wantDelegated(t, s, "with another jti", delegated(g, "alice@example.com", "jti-other", "", at(0)), nil)
		must(t, "DenyJTI again", s.DenyJTI(ctx, c.JTI, at(10*time.Minute)))
		wantDelegated(t, s, "denied twice", c, store.ErrNotFound)
	})
	t.Run("CheckDelegated", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		g2 := newGrant(id("ser_", "2"), "cli_2", "example.com", at(0))
		createGrant(t, s, g, "")
		createGrant(t, s, g2, "")
		must(t, "AddElevations", s.AddElevations(ctx, g.ID, "alice@example.com", []string{"cal_b", "cal_a"}))
		must(t, "AddElevations", s.AddElevations(ctx, g.ID, "alice@example.com", []string{"cal_c", "cal_a"}))
		must(t, "AddElevations", s.AddElevations(ctx, g2.ID, "alice@example.com", []string{"cal_z"}))
		tests := []struct {
			name string
			c    store.DelegatedCheck
			want []string
		}{
			{"elevated subject", delegated(g, "alice@example.com", "jti-1", "", at(0)), []string{"cal_a", "cal_b", "cal_c"}},
			{"subject without elevations", delegated(g, "bob@example.com", "jti-2", "", at(0)), nil},
			{"same subject, another grant", delegated(g2, "alice@example.com", "jti-3", "", at(0)), []string{"cal_z"}},
		}
		for _, tc := range tests {
			st := wantDelegated(t, s, tc.name, tc.c, nil)
			if d := diff(tc.want, st.Elevations); d != "" {
				t.Errorf("CheckDelegated %s: elevations (-want +got):\n%s", tc.name, d)
			}
		}
		unknown := newGrant(id("ser_", "unknown"), "cli_1", "example.com", at(0))
		wantDelegated(t, s, "of an unknown grant", delegated(unknown, "alice@example.com", "jti-4", "", at(0)), store.ErrNotFound)
		_, err := s.RevokeGrant(ctx, g.ID, at(time.Hour))
		must(t, "RevokeGrant", err)
		wantDelegated(t, s, "of a revoked grant", delegated(g, "alice@example.com", "jti-5", "", at(0)), store.ErrNotFound)
	})
	t.Run("UseOnce", func(t *testing.T) {
		ctx, s := fresh(t, open)
		steps := []struct {
			name         string
			key          string
			expires, now time.Time
			want         error
		}{
			{"first use", "jti-a", at(5 * time.Minute), at(0), nil},
			{"replay", "jti-a", at(10 * time.Minute), at(time.Minute), store.ErrUsed},
			{"replay just before expiry", "jti-a", at(10 * time.Minute), at(5*time.Minute - ms), store.ErrUsed},
			{"another key", "jti-b", at(5 * time.Minute), at(time.Minute), nil},
			{"after expiry", "jti-a", at(20 * time.Minute), at(5*time.Minute + ms), nil},
			{"replay of the renewed key", "jti-a", at(20 * time.Minute), at(6 * time.Minute), store.ErrUsed},
			{"other key, still recorded", "jti-b", at(5 * time.Minute), at(2 * time.Minute), store.ErrUsed},
		}
		for _, st := range steps {
			wantErr(t, "UseOnce "+st.name, s.UseOnce(ctx, st.key, st.expires, st.now), st.want)
		}
	})
	t.Run("UseOnceRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		errs := race(50, func(int) error {
			return s.UseOnce(ctx, "assertion-sha256", at(time.Hour), at(0))
		})
		if wins, losses := tally(t, errs, store.ErrUsed); wins != 1 || losses != 49 {
			t.Errorf("50 concurrent UseOnce: %d won, %d ErrUsed; want 1 and 49", wins, losses)
		}
	})
}
