package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The open loop's warm-up runs at the rate but is not measured: requests scheduled during
// it count neither as latencies nor as successes.
func TestOpenLoop_WarmUpIsNotMeasured(t *testing.T) {
	const (
		rate = 500.0
		warm = 300 * time.Millisecond
		d    = 300 * time.Millisecond
		slow = 150 * time.Millisecond
	)
	start := time.Now()
	sc := scenario{name: "test", do: func(context.Context, int) (int, error) {
		if time.Since(start) < warm-50*time.Millisecond { // well inside the warm-up: slow
			time.Sleep(slow)
		}
		return 1, nil
	}}
	lat, ok, errs := openLoop(context.Background(), sc, rate, warm, d, func(error) {})
	if errs != 0 {
		t.Fatalf("%d errors", errs)
	}
	if want := int64(rate * d.Seconds()); ok < want/2 || ok > want+10 {
		t.Errorf("%d successes measured, want about %d (the measured window only)", ok, want)
	}
	if int64(len(lat)) != ok {
		t.Errorf("%d latencies for %d successes", len(lat), ok)
	}
	for _, l := range lat {
		if l.took >= slow {
			t.Fatalf("a latency of %v was measured: a warm-up request's", l.took)
		}
		if l.at < 0 || l.at >= d {
			t.Fatalf("a request due at %v of a %v window was measured", l.at, d)
		}
	}
}

// perSecond groups latencies by the second they were due in, each second with its own
// count and percentiles.
func TestPerSecond(t *testing.T) {
	ms := time.Millisecond
	var samples []sample
	for i := range 100 { // second 0: 1…100 ms
		samples = append(samples, sample{at: time.Duration(i) * 9 * ms, took: time.Duration(i+1) * ms})
	}
	samples = append(samples, sample{at: 2500 * ms, took: 7 * ms}) // second 2 only; second 1 empty
	got := perSecond(samples)
	want := []second{{Requests: 100, P50ms: 50, P99ms: 99}, {}, {Requests: 1, P50ms: 7, P99ms: 7}}
	if !slices.Equal(got, want) {
		t.Errorf("perSecond = %+v, want %+v", got, want)
	}
}
