package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// A clock that advances 100 µs a reading, with jumps of 5 ms and 2 ms (and one of exactly
// stallGap, not reported): the probe reports the two stalls, largest first, and stops
// once d has passed.
func TestProbeStalls_ReportsGapsOverAMillisecond(t *testing.T) {
	t0 := time.Unix(0, 0)
	now, reads := t0, 0
	clock := func() time.Time {
		reads++
		switch reads {
		case 10:
			now = now.Add(2 * time.Millisecond)
		case 20:
			now = now.Add(5 * time.Millisecond)
		case 30:
			now = now.Add(stallGap)
		default:
			now = now.Add(100 * time.Microsecond)
		}
		return now
	}
	gaps := probeStalls(clock, 20*time.Millisecond)
	if want := []time.Duration{5 * time.Millisecond, 2 * time.Millisecond}; !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
	if end := t0.Add(20 * time.Millisecond); now.Before(end) || now.After(end.Add(5*time.Millisecond)) {
		t.Errorf("the probe stopped at %v, want just after %v", now.Sub(t0), end.Sub(t0))
	}
	var out bytes.Buffer
	reportStalls(&out, 20*time.Millisecond, gaps)
	if got := out.String(); !strings.Contains(got, ": 2, 7.0 ms in all, largest [5.0 2.0] ms") {
		t.Errorf("report %q", got)
	}
}
