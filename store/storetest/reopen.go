package storetest

import (
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// RunReopen checks that a store's data survives closing the store and opening it again, as a
// broker restart (embedded) or a replica connecting to the same Redis would see it
// (STYLE §2: "data surviving a reopen"). It is optional and separate from Run because only the
// backend knows how to reopen.
//
// open returns a fresh, empty store as for Run. reopen must close s (or drop it, as long as
// its data is kept) and return a new store over the same data, e.g. Open(sameDir) or a new
// client of the same Redis database and key prefix; it registers the new store's cleanup with
// t.Cleanup. The subtest "Reopen" writes a client, a replaced grant, codes (one used), a token
// family with a rotated refresh token, a revoked family, a trimmed audit chain, queued and
// leased deliveries, rotated signing keys, an account with elevations, a pending
// authorization, a session, a UseOnce key and a denied jti; reopens; and checks that each one
// is still there with every field, in the state it was left.
func RunReopen(t *testing.T, open Opener, reopen func(t *testing.T, s store.Store) store.Store) {
	t.Run("Reopen", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		const d = "example.com"

		c := newClient("cli_1", at(0))
		must(t, "CreateClient", s.CreateClient(ctx, c))
		g1 := newGrant(id("ser_", "1"), c.ID, d, at(0))
		g2 := newGrant(id("ser_", "2"), c.ID, d, at(time.Minute))
		createGrant(t, s, g1, "")
		createGrant(t, s, g2, g1.ID)

		unused, used := newCode("unused", at(0)), newCode("used", at(0))
		must(t, "PutCode", s.PutCode(ctx, unused))
		must(t, "PutCode", s.PutCode(ctx, used))
		_, err := s.ConsumeCode(ctx, used.Hash, at(time.Second))
		must(t, "ConsumeCode", err)

		f, gone := saFamily("fam_1", g2), saFamily("fam_gone", g2)
		a, r1, rGone := newAccess("access", f, at(time.Minute)), newRefresh("refresh 1", f, at(time.Minute)), newRefresh("gone", gone, at(time.Minute))
		issue(t, s, f, &a, &r1)
		issue(t, s, gone, nil, &rGone)
		must(t, "RevokeFamily", s.RevokeFamily(ctx, gone.ID))
		rot := rotation(c.ID, "2", at(2*time.Minute))
		rot.AccessHash = ""
		_, r2 := rotate(t, s, "before reopen", r1, at(2*time.Minute), rot, nil)

		var events []store.AuditEvent
		for i := range 5 {
			events = append(events, newEvent(d, name("evt_%d", i), at(time.Duration(i)*time.Minute)))
		}
		chain := appendChain(t, s, d, events...)
		wantTrim(t, s, d, at(2*time.Minute), 2)
		none := appendChain(t, s, "", newEvent("", "evt_n", at(0)))

		d1, d2 := newDelivery("dlv_1", at(0)), newDelivery("dlv_2", at(time.Second))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d1, d2}))
		const lease = 30 * time.Second
		wantClaim(t, s, "", at(2*time.Second), lease, &d1)

		k1, k2 := newSigningKey("kid-1", "EdDSA", at(0)), newSigningKey("kid-2", "EdDSA", at(time.Hour))
		_, err = s.InitSigningKey(ctx, k1)
		must(t, "InitSigningKey", err)
		must(t, "RotateSigningKey", s.RotateSigningKey(ctx, k2))

		acct := newAccount(d, "alice@example.com", "alice")
		_, err = s.EnsureAccount(ctx, acct)
		must(t, "EnsureAccount", err)
		must(t, "AddElevations", s.AddElevations(ctx, g2.ID, acct.Subject, []string{"cal_2", "cal_1"}))
		p, sess := newPending("pen_1", at(0)), newSession("cookie", store.SessionAdmin, at(0))
		must(t, "PutPending", s.PutPending(ctx, p))
		must(t, "PutSession", s.PutSession(ctx, sess))
		must(t, "UseOnce", s.UseOnce(ctx, "jti-once", at(time.Hour), at(0)))
		must(t, "DenyJTI", s.DenyJTI(ctx, "jti-denied", at(time.Hour)))

		s = reopen(t, s)
		now := at(3 * time.Second)

		if got, err := s.GetClient(ctx, c.ID); err != nil || diff(c, got) != "" {
			t.Errorf("GetClient after reopen: %v, diff (-want +got):\n%s", err, diff(c, got))
		}
		wantGrant(t, s, revoked(g1, g2.ApprovedAt))
		wantActive(t, s, g2)

		got, err := s.ConsumeCode(ctx, unused.Hash, now)
		must(t, "ConsumeCode of the unused code after reopen", err)
		if df := diff(unused, got, ignoreUsed); df != "" {
			t.Errorf("ConsumeCode after reopen (-want +got):\n%s", df)
		}
		_, err = s.ConsumeCode(ctx, used.Hash, now)
		wantErr(t, "ConsumeCode of the used code after reopen", err, store.ErrUsed)

		wantAccess(t, s, "after reopen", a, now, nil)
		wantRefresh(t, s, "rotated, after reopen", r1, now, store.ErrNotFound)
		wantRefresh(t, s, "current, after reopen", r2, now, nil)
		wantRefresh(t, s, "of a revoked family, after reopen", rGone, now, store.ErrNotFound)
		rotate(t, s, "replay after reopen", r1, now, rotation(c.ID, "replay", now), store.ErrUsed)

		wantHead(t, s, d, chain[4].Hash)
		wantAnchor(t, s, d, chain[1].Hash)
		wantExport(t, s, d, chain[2:])
		wantExport(t, s, "", none)
		more := appendChain(t, s, d, newEvent(d, "evt_5", at(5*time.Minute)))
		if more[0].PrevHash != chain[4].Hash {
			t.Errorf("append after reopen linked to %q, want %q", more[0].PrevHash, chain[4].Hash)
		}

		wantPending(t, s, 2)
		wantClaim(t, s, "after reopen, the unleased one", now, lease, &d2)
		wantClaim(t, s, "after reopen, while the lease holds", now, lease, nil)
		wantClaim(t, s, "after reopen, once the lease ran out", at(2*time.Second).Add(lease+ms), lease, &d1)

		wantKeys(t, s, "after reopen", k2, retired(k1, k2.CreatedAt))

		if got, err := s.AccountByID(ctx, acct.ID); err != nil || diff(acct, got) != "" {
			t.Errorf("AccountByID after reopen: %v, diff (-want +got):\n%s", err, diff(acct, got))
		}
		st := wantDelegated(t, s, "after reopen", delegated(g2, acct.Subject, "jti-live", "", now), nil)
		if df := diff([]string{"cal_1", "cal_2"}, st.Elevations); df != "" {
			t.Errorf("elevations after reopen (-want +got):\n%s", df)
		}
		wantDelegated(t, s, "denied, after reopen", delegated(g2, acct.Subject, "jti-denied", "", now), store.ErrNotFound)
		wantErr(t, "UseOnce after reopen", s.UseOnce(ctx, "jti-once", at(time.Hour), now), store.ErrUsed)
		if got, err := s.GetPending(ctx, p.ID, now); err != nil || diff(p, got) != "" {
			t.Errorf("GetPending after reopen: %v, diff (-want +got):\n%s", err, diff(p, got))
		}
		if got, err := s.GetSession(ctx, sess.Hash, now); err != nil || diff(sess, got) != "" {
			t.Errorf("GetSession after reopen: %v, diff (-want +got):\n%s", err, diff(sess, got))
		}
	})
}
