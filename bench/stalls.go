package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// stallGap is the shortest gap between two clock readings that probeStalls reports.
const stallGap = time.Millisecond

// probeStalls reads the clock in a busy loop for d and returns every gap of more than
// stallGap between two readings, largest first: time the machine took the core away. It is
// the bench's calibration of the host itself (-stalls): on an otherwise idle machine a
// stall is the hypervisor's, and every latency measured in that half hour carries it.
func probeStalls(now func() time.Time, d time.Duration) []time.Duration {
	var gaps []time.Duration
	prev := now()
	end := prev.Add(d)
	for prev.Before(end) {
		t := now()
		if g := t.Sub(prev); g > stallGap {
			gaps = append(gaps, g)
		}
		prev = t
	}
	slices.SortFunc(gaps, func(a, b time.Duration) int { return int(b - a) })
	return gaps
}

// reportStalls prints probeStalls' findings on one line.
func reportStalls(w io.Writer, d time.Duration, gaps []time.Duration) {
	var sum time.Duration
	for _, g := range gaps {
		sum += g
	}
	top := gaps[:min(len(gaps), 5)]
	ms := make([]string, len(top))
	for i, g := range top {
		ms[i] = fmt.Sprintf("%.1f", float64(g)/float64(time.Millisecond))
	}
	fmt.Fprintf(w, "stalls over %v in %v: %d, %.1f ms in all, largest %v ms\n", stallGap, d, len(gaps),
		float64(sum)/float64(time.Millisecond), ms)
}
