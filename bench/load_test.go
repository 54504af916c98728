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
	if m := slices.Max(lat); m >= slow {
		t.Errorf("a latency of %v was measured: a warm-up request's", m)
	}
}
