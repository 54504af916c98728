package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// newDelivery returns a queued callback due at next.
func newDelivery(did string, next time.Time) store.Delivery {
	return store.Delivery{
		ID:        did,
		ClientID:  "cli_1",
		GrantID:   id("ser_", "delivery"),
		Domain:    "example.com",
		Subject:   "alice@example.com",
		URL:       "https://app.example/callback?x=1",
		Body:      []byte(`{"authorization":{"code":"abc","state":"s"}}` + "\n\x00\xff"),
		CreatedAt: at(0),
		NextAt:    next,
		GiveUpAt:  at(24 * time.Hour),
	}
}

// claimed returns d as ClaimDelivery must return it when claimed at now for lease.
func claimed(d store.Delivery, now time.Time, lease time.Duration) store.Delivery {
	d.LeaseUntil = now.Add(lease)
	return d
}

// wantClaim calls ClaimDelivery(now, lease) and checks it returns want (nil: ErrNotFound).
func wantClaim(t *testing.T, s store.Store, what string, now time.Time, lease time.Duration, want *store.Delivery) {
	t.Helper()
	got, err := s.ClaimDelivery(t.Context(), now, lease)
	if want == nil {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ClaimDelivery %s: got %s (error %v), want ErrNotFound", what, got.ID, err)
		}
		return
	}
	must(t, "ClaimDelivery "+what, err)
	if d := diff(claimed(*want, now, lease), got); d != "" {
		t.Fatalf("ClaimDelivery %s (-want +got):\n%s", what, d)
	}
}

// wantPending checks PendingDeliveries.
func wantPending(t *testing.T, s store.Store, want int) {
	t.Helper()
	n, err := s.PendingDeliveries(t.Context())
	must(t, "PendingDeliveries", err)
	if n != want {
		t.Errorf("PendingDeliveries = %d, want %d", n, want)
	}
}

func testDeliveries(t *testing.T, open Opener) {
	const lease = 30 * time.Second
	t.Run("ClaimDueEarliestFirst", func(t *testing.T) {
		ctx, s := fresh(t, open)
		wantPending(t, s, 0)
		wantClaim(t, s, "of an empty queue", at(0), lease, nil)
		d2, d1, d3 := newDelivery("dlv_2", at(2*time.Second)), newDelivery("dlv_1", at(time.Second+7*ms)), newDelivery("dlv_3", at(3*time.Second))
		later := newDelivery("dlv_later", at(time.Hour))
		later.Attempts = 4
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d2, later}))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d3, d1}))
		wantPending(t, s, 4)
		wantClaim(t, s, "before anything is due", at(time.Second), lease, nil)
		now := at(5 * time.Second)
		wantClaim(t, s, "first", now, lease, &d1)
		wantClaim(t, s, "second", now, lease, &d2)
		wantClaim(t, s, "third", now, lease, &d3)
		wantClaim(t, s, "when only a future one is left", now, lease, nil)
		wantPending(t, s, 4) // leased deliveries are still queued
		for _, d := range []store.Delivery{d1, d2, d3} {
			must(t, "AckDelivery", s.AckDelivery(ctx, d.ID))
		}
		wantClaim(t, s, "once due", later.NextAt, lease, &later)
	})
	t.Run("LeaseExpiry", func(t *testing.T) {
		ctx, s := fresh(t, open)
		d := newDelivery("dlv_1", at(0))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d}))
		wantClaim(t, s, "", at(time.Second), lease, &d)
		wantClaim(t, s, "while leased", at(time.Second), lease, nil)
		wantClaim(t, s, "just before the lease ends", at(time.Second).Add(lease-ms), lease, nil)
		// A sender that died holding the lease: the delivery is delivered again.
		again := at(time.Second).Add(lease + ms)
		wantClaim(t, s, "after the lease ran out", again, time.Minute, &d)
		wantClaim(t, s, "under the new lease", again.Add(lease+ms), time.Minute, nil)
	})
	t.Run("Retry", func(t *testing.T) {
		ctx, s := fresh(t, open)
		d, other := newDelivery("dlv_1", at(0)), newDelivery("dlv_2", at(20*time.Second))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d, other}))
		wantClaim(t, s, "", at(time.Second), lease, &d)
		must(t, "RetryDelivery", s.RetryDelivery(ctx, d.ID, 1, at(10*time.Second)))
		wantClaim(t, s, "before the retry is due", at(9*time.Second), lease, nil)
		retried := d
		retried.Attempts, retried.NextAt = 1, at(10*time.Second)
		wantClaim(t, s, "when the retry is due", at(10*time.Second), lease, &retried)
		// Rescheduled after the other one: the other is now the earliest.
		must(t, "RetryDelivery", s.RetryDelivery(ctx, d.ID, 2, at(40*time.Second)))
		wantClaim(t, s, "the other one", at(50*time.Second), lease, &other)
		retried.Attempts, retried.NextAt = 2, at(40*time.Second)
		wantClaim(t, s, "the second retry", at(50*time.Second), lease, &retried)
		// Retry also ends a lease that has not run out.
		must(t, "RetryDelivery", s.RetryDelivery(ctx, d.ID, 3, at(51*time.Second)))
		retried.Attempts, retried.NextAt = 3, at(51*time.Second)
		wantClaim(t, s, "retried while leased", at(52*time.Second), lease, &retried)
		wantErr(t, "RetryDelivery unknown", s.RetryDelivery(ctx, "dlv_unknown", 1, at(0)), store.ErrNotFound)
		wantPending(t, s, 2)
	})
	t.Run("Ack", func(t *testing.T) {
		ctx, s := fresh(t, open)
		d1, d2 := newDelivery("dlv_1", at(0)), newDelivery("dlv_2", at(time.Second))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d1, d2}))
		wantClaim(t, s, "", at(2*time.Second), lease, &d1)
		must(t, "AckDelivery", s.AckDelivery(ctx, d1.ID))
		wantPending(t, s, 1)
		// Acked even before being claimed, and acked deliveries never come back.
		must(t, "AckDelivery unclaimed", s.AckDelivery(ctx, d2.ID))
		wantPending(t, s, 0)
		wantClaim(t, s, "after acks, lease long over", at(time.Hour), lease, nil)
		must(t, "AckDelivery again", s.AckDelivery(ctx, d1.ID))
		must(t, "AckDelivery unknown", s.AckDelivery(ctx, "dlv_unknown"))
		wantErr(t, "RetryDelivery of an acked delivery", s.RetryDelivery(ctx, d1.ID, 1, at(0)), store.ErrNotFound)
	})
	t.Run("EnqueueExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		d := newDelivery("dlv_1", at(0))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, []store.Delivery{d}))
		dup := newDelivery("dlv_1", at(time.Hour))
		newOne := newDelivery("dlv_2", at(0))
		wantErr(t, "EnqueueDeliveries with a taken id", s.EnqueueDeliveries(ctx, []store.Delivery{newOne, dup}), store.ErrExists)
		wantPending(t, s, 1) // atomic: dlv_2 was not stored either
		wantClaim(t, s, "the original", at(time.Second), lease, &d)
		wantClaim(t, s, "nothing else", at(time.Second), lease, nil)
	})
	t.Run("ClaimRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		var ds []store.Delivery
		for i := range 5 {
			ds = append(ds, newDelivery(name("dlv_%d", i), at(time.Duration(i)*time.Second)))
		}
		ds = append(ds, newDelivery("dlv_future", at(time.Hour)))
		must(t, "EnqueueDeliveries", s.EnqueueDeliveries(ctx, ds))
		const claimers = 10
		got := make([][]string, claimers)
		errs := race(claimers, func(i int) error {
			for range 10 {
				d, err := s.ClaimDelivery(ctx, at(time.Minute), lease)
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				got[i] = append(got[i], d.ID)
			}
			return errors.New("claimed more than 10 deliveries")
		})
		seen := map[string]int{}
		for i, err := range errs {
			must(t, name("claimer %d", i), err)
			for _, did := range got[i] {
				seen[did]++
			}
		}
		for _, d := range ds[:5] {
			if seen[d.ID] != 1 {
				t.Errorf("delivery %s claimed %d times by %d concurrent claimers, want once", d.ID, seen[d.ID], claimers)
			}
		}
		if len(seen) != 5 {
			t.Errorf("claimed %v, want exactly the 5 due deliveries", seen)
		}
	})
}
