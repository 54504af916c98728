package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// windowStart is the start of the fixed window of length window that contains now, windows
// being aligned to multiples of window since the Unix epoch (the contract of Hit).
func windowStart(now time.Time, window time.Duration) time.Time {
	w := window.Milliseconds()
	return time.UnixMilli(now.UnixMilli() / w * w).UTC()
}

// wantHit calls Hit and checks the count and the end of the window.
func wantHit(t *testing.T, s store.Store, key string, window time.Duration, now time.Time, wantCount int64) {
	t.Helper()
	n, resetAt, err := s.Hit(t.Context(), key, window, now)
	must(t, "Hit "+key, err)
	wantReset := windowStart(now, window).Add(window)
	if n != wantCount || !sameTime(resetAt, wantReset) {
		t.Errorf("Hit(%s, %v, %v) = %d, resetAt %v; want %d, %v", key, window, now, n, resetAt, wantCount, wantReset)
	}
}

// wantCount calls Count and checks its result.
func wantCount(t *testing.T, s store.Store, key string, window time.Duration, now time.Time, want int64) {
	t.Helper()
	n, err := s.Count(t.Context(), key, window, now)
	must(t, "Count "+key, err)
	if n != want {
		t.Errorf("Count(%s, %v, %v) = %d, want %d", key, window, now, n, want)
	}
}

func testRateLimits(t *testing.T, open Opener) {
	t.Run("HitWithinAndAcrossWindows", func(t *testing.T) {
		_, s := fresh(t, open)
		const key, w = "signin:account:alice@example.com", time.Minute
		wantCount(t, s, key, w, at(0), 0)
		wantHit(t, s, key, w, at(10*time.Second), 1)
		wantHit(t, s, key, w, at(20*time.Second), 2)
		wantHit(t, s, key, w, at(time.Minute-ms), 3)
		wantCount(t, s, key, w, at(30*time.Second), 3)
		wantCount(t, s, key, w, at(30*time.Second), 3) // Count does not add
		// The next window starts over, decided by now alone (no waiting for a TTL).
		wantHit(t, s, key, w, at(time.Minute), 1)
		wantCount(t, s, key, w, at(time.Minute+time.Second), 1)
		wantCount(t, s, key, w, at(3*time.Minute), 0)
		wantHit(t, s, key, w, at(3*time.Minute+time.Second), 1)
	})
	t.Run("WindowAlignment", func(t *testing.T) {
		_, s := fresh(t, open)
		for _, tc := range []struct {
			window time.Duration
			now    time.Time
		}{
			{7 * time.Second, at(time.Hour + 500*ms)},
			{time.Hour, at(25 * time.Minute)},
			{15 * time.Minute, at(44*time.Minute + 59*time.Second + 999*ms)},
		} {
			key := "align:" + tc.window.String()
			start := windowStart(tc.now, tc.window)
			wantHit(t, s, key, tc.window, start, 1)
			wantHit(t, s, key, tc.window, tc.now, 2)
			wantHit(t, s, key, tc.window, start.Add(tc.window-ms), 3)
			wantHit(t, s, key, tc.window, start.Add(tc.window), 1)
		}
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		_, s := fresh(t, open)
		const w = time.Minute
		wantHit(t, s, "signin:ip:192.0.2.1", w, at(0), 1)
		wantHit(t, s, "signin:ip:192.0.2.1", w, at(time.Second), 2)
		wantHit(t, s, "signin:ip:192.0.2.2", w, at(time.Second), 1)
		wantCount(t, s, "signin:ip:192.0.2.1", w, at(2*time.Second), 2)
		wantCount(t, s, "signin:ip:192.0.2.2", w, at(2*time.Second), 1)
	})
	t.Run("ResetLimit", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const w = time.Minute
		wantHit(t, s, "k1", w, at(0), 1)
		wantHit(t, s, "k1", w, at(time.Minute), 1)
		wantHit(t, s, "k1", w, at(time.Minute+time.Second), 2)
		wantHit(t, s, "k2", w, at(time.Minute), 1)
		must(t, "ResetLimit", s.ResetLimit(ctx, "k1"))
		wantCount(t, s, "k1", w, at(time.Second), 0)
		wantCount(t, s, "k1", w, at(time.Minute+2*time.Second), 0)
		wantCount(t, s, "k2", w, at(time.Minute+2*time.Second), 1)
		wantHit(t, s, "k1", w, at(time.Minute+3*time.Second), 1)
		must(t, "ResetLimit unknown", s.ResetLimit(ctx, "never hit"))
	})
	t.Run("HitRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const n, w = 50, time.Minute
		counts := make([]int64, n)
		errs := race(n, func(i int) error {
			var err error
			counts[i], _, err = s.Hit(ctx, "raced", w, at(time.Duration(i)*ms))
			return err
		})
		for i, err := range errs {
			must(t, name("Hit %d", i), err)
		}
		slices.Sort(counts)
		for i, c := range counts {
			if c != int64(i+1) {
				t.Fatalf("%d concurrent Hits returned counts %v, want each of 1…%d once", n, counts, n)
			}
		}
		wantCount(t, s, "raced", w, at(time.Second), n)
	})
}
