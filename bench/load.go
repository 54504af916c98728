package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// scenario is one workload: do sends one request and reports how many tokens it produced.
type scenario struct {
	name string
	do   func(ctx context.Context, worker int) (tokens int, err error)
	// prepare, when set, runs before each measured step with the most requests that step
	// may send (redeem: the codes it consumes).
	prepare func(ctx context.Context, n int) error
}

// firstStepCap is what a scenario's first closed-loop step is prepared for: requests a
// second no broker here reaches.
const firstStepCap = 20000

// budget is how many requests a step at up to rps requests a second for d may send.
func budget(rps float64, d time.Duration) int { return int(rps*d.Seconds()) + 1000 }

// result is what one scenario measured.
type result struct {
	Scenario        string  `json:"scenario"`
	PeakRPS         float64 `json:"peak_rps"`
	PeakTokensPS    float64 `json:"peak_tokens_per_s"`
	PeakConcurrency int     `json:"peak_concurrency"`
	HalfRPS         float64 `json:"half_peak_rps"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	Errors          int64   `json:"errors"`
	FirstError      string  `json:"first_error,omitempty"`
	// Seconds is the open loop's latency second by second (-per-second): a run's p99 can be
	// one bad second's.
	Seconds []second `json:"seconds,omitempty"`
}

// second is the open loop's latency over one second of its measured window.
type second struct {
	Requests int     `json:"requests"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
}

// sample is one measured request of the open loop: when it was due, from the start of the
// measured window, and how long it took from then.
type sample struct{ at, took time.Duration }

// perSecond groups samples by the second of the measured window they were due in.
func perSecond(samples []sample) []second {
	var groups [][]time.Duration
	for _, s := range samples {
		i := int(s.at / time.Second)
		for len(groups) <= i {
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], s.took)
	}
	out := make([]second, len(groups))
	for i, g := range groups {
		out[i] = second{Requests: len(g), P50ms: percentile(g, 0.50), P99ms: percentile(g, 0.99)}
	}
	return out
}

// newHTTPClient keeps up to 1,024 connections to the broker (one per concurrent worker at
// the highest step) and never compresses. Idle connections are reused most recent first, as
// Go's net/http client does: after a peak step at 512 connections, the half-peak run keeps
// the few it needs warm instead of cycling through all 512 (fasthttp's default, FIFO).
func newHTTPClient() *fasthttp.Client {
	return &fasthttp.Client{MaxConnsPerHost: 1024, MaxIdleConnDuration: time.Minute,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, NoDefaultUserAgentHeader: true,
		ConnPoolStrategy: fasthttp.LIFO}
}

// measure finds the peak with a closed loop at rising concurrency, then runs an open loop
// at half the peak rate and reports its latency (measured from each request's scheduled
// start, so a stall is not hidden) after a warm-up at that rate (o.warmup), so that what
// is measured is the steady state at half load, not the end of the overload before it.
func measure(ctx context.Context, sc scenario, o options) result {
	r := result{Scenario: sc.name}
	var firstErr atomic.Value
	note := func(err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, err.Error())
		}
	}
	prepare := func(n int) bool {
		if sc.prepare == nil {
			return true
		}
		if err := sc.prepare(ctx, n); err != nil {
			note(err)
			r.Errors++
			return false
		}
		return true
	}
	openAt := func(rate float64) { // latency of an open loop at rate
		samples, ok, errs := openLoop(ctx, sc, rate, o.warmup, o.duration, note)
		r.Errors += errs
		r.HalfRPS = float64(ok) / o.duration.Seconds()
		lat := make([]time.Duration, len(samples))
		for i, s := range samples {
			lat[i] = s.took
		}
		r.P50ms, r.P99ms = percentile(lat, 0.50), percentile(lat, 0.99)
		if o.perSecond {
			r.Seconds = perSecond(samples)
		}
	}
	if o.rate > 0 { // a fixed rate instead of half of the peak
		if prepare(budget(o.rate*1.1, o.warmup+o.duration)) {
			openAt(o.rate)
		}
	} else {
		last := float64(firstStepCap)
		below := 0 // consecutive steps under 90 % of the peak so far
		for i, c := range o.concurrency {
			if i > 0 { // a step at higher concurrency does at most twice the last one's rate
				last = max(2*last, 2000)
			}
			if !prepare(budget(last, o.duration)) {
				break
			}
			ok, tokens, errs := closedLoop(ctx, sc, c, o.duration, note)
			r.Errors += errs
			rps := float64(ok) / o.duration.Seconds()
			last = rps
			switch {
			case rps > r.PeakRPS:
				r.PeakRPS, r.PeakTokensPS, r.PeakConcurrency = rps, float64(tokens)/o.duration.Seconds(), c
				below = 0
			case rps < 0.9*r.PeakRPS:
				below++
			default:
				below = 0
			}
			if below == 2 {
				// Past the peak. One step under 90 % is not enough: a shared two-core virtual
				// machine moves a single step by 10–20 %.
				break
			}
		}
		if r.PeakRPS > 0 && prepare(budget(r.PeakRPS*0.6, o.warmup+o.duration)) {
			openAt(r.PeakRPS / 2)
		}
	}
	if v := firstErr.Load(); v != nil {
		r.FirstError = v.(string)
	}
	return r
}

func closedLoop(ctx context.Context, sc scenario, conc int, d time.Duration, note func(error)) (ok, tokens, errs int64) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				// A request in flight when the step ends still completes: cancelling it
				// could leave a rotated refresh token in the pool.
				n, err := sc.do(context.WithoutCancel(ctx), w)
				if err != nil {
					atomic.AddInt64(&errs, 1)
					note(err)
					continue
				}
				atomic.AddInt64(&ok, 1)
				atomic.AddInt64(&tokens, int64(n))
			}
		}(w)
	}
	wg.Wait()
	return ok, tokens, errs
}

// openLoop sends requests at rate for warm+d and reports the latencies and successes of
// those scheduled after the warm-up (errors count throughout).
func openLoop(ctx context.Context, sc scenario, rate float64, warm, d time.Duration, note func(error)) (samples []sample, ok, errs int64) {
	ctx, cancel := context.WithTimeout(ctx, warm+d)
	defer cancel()
	start := time.Now()
	measured := start.Add(warm)
	interval := time.Duration(float64(time.Second) / rate)
	const workers = 512
	jobs := make(chan time.Time, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for due := range jobs {
				_, err := sc.do(context.WithoutCancel(ctx), w)
				took := time.Since(due)
				if err != nil {
					atomic.AddInt64(&errs, 1)
					note(err)
					continue
				}
				if due.Before(measured) {
					continue
				}
				atomic.AddInt64(&ok, 1)
				mu.Lock()
				samples = append(samples, sample{at: due.Sub(measured), took: took})
				mu.Unlock()
			}
		}(w)
	}
	end := start.Add(warm + d)
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(end) { // the window is [start, end): nothing is due at its end
			break
		}
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- due
	}
	close(jobs)
	wg.Wait()
	return samples, ok, errs
}

func percentile(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := int(q * float64(len(lat)-1))
	return float64(lat[i]) / float64(time.Millisecond)
}
