// Command bench drives a running broker's real HTTP API and prints, per scenario, requests
// per second, tokens per second where it applies, p50 and p99 latency and the error count
// (SPEC §11). It starts nothing itself: point it at a broker with -target and at the same
// store with -config (it bootstraps its own client, grant and codes there, see setup.go).
//
//	go run ./bench -target http://127.0.0.1:8080 -config broker.yaml -scenario all
//
// Each scenario first finds peak throughput (closed loop, rising concurrency), then runs at
// half of that rate (open loop) and reports the latency there.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"
)

type options struct {
	target      string
	config      string
	scenario    string
	duration    time.Duration
	concurrency []int
	subject     string
	jsonOut     string
	seedGrants  int
	seedEvents  int
	seedDomains int
	rate        float64
	warmup      time.Duration
	perSecond   bool
}

func main() {
	// The load generator shares the machine with the broker: keep its own collector from
	// stealing a core (and adding pauses to the latencies it measures).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	var o options
	var conc string
	flag.StringVar(&o.target, "target", "http://127.0.0.1:8080", "the broker's base URL")
	flag.StringVar(&o.config, "config", "", "the broker's config file: the bench opens the same store to bootstrap (required)")
	flag.StringVar(&o.scenario, "scenario", "all", "redeem | refresh | mint | batch | introspect | mixed | healthz | all (comma-separated; all = the first six)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured step")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "open loop only: how long it runs at its rate before latencies are recorded")
	flag.BoolVar(&o.perSecond, "per-second", false, "also report the open loop's p50 and p99 for each second of its measured window")
	flag.StringVar(&conc, "concurrency", "32,64,128,256,512", "closed-loop concurrency steps used to find the peak")
	flag.StringVar(&o.subject, "subject", "", "account or resource to mint for (default: the first user of the first static domain)")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.Float64Var(&o.rate, "rate", 0, "skip the peak search: run only the open loop at this many requests a second and report its latency")
	flag.IntVar(&o.seedGrants, "seed-grants", 0, "seed mode: store this many grants (then exit)")
	flag.IntVar(&o.seedEvents, "seed-events", 0, "seed mode: store this many audit events (then exit)")
	flag.IntVar(&o.seedDomains, "seed-domains", 1000, "seed mode: spread seeded state over this many domains")
	stalls := flag.Duration("stalls", 0, "calibration: spin on one core for this long, print the stalls over 1 ms (time the host took the core away), then exit")
	flag.Parse()
	if *stalls > 0 {
		reportStalls(os.Stdout, *stalls, probeStalls(time.Now, *stalls))
		return
	}
	for _, s := range strings.Split(conc, ",") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d", &n); err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: -concurrency: %q is not a positive number\n", s)
			os.Exit(2)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if o.config == "" {
		fmt.Fprintln(os.Stderr, "bench: -config is required (the broker's config file, for the same store)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	fx, err := bootstrap(ctx, o)
	if err != nil {
		return err
	}
	defer fx.close()
	if o.seedGrants > 0 || o.seedEvents > 0 {
		return seed(ctx, fx, o)
	}
	var names []string
	for _, n := range strings.Split(o.scenario, ",") {
		if n = strings.TrimSpace(n); n == "all" {
			names = append(names, "redeem", "refresh", "mint", "batch", "introspect", "mixed")
		} else {
			names = append(names, n)
		}
	}
	var results []result
	for _, n := range names {
		sc, err := fx.scenario(ctx, n, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "scenario %s …\n", sc.name)
		r := measure(ctx, sc, o)
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tpeak req/s\tpeak tokens/s\tconc\thalf-peak req/s\tp50 ms\tp99 ms\terrors\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%d\t%.0f\t%.2f\t%.2f\t%d\t\n", r.Scenario, r.PeakRPS, r.PeakTokensPS, r.PeakConcurrency,
			r.HalfRPS, r.P50ms, r.P99ms, r.Errors)
	}
	tw.Flush()
	for _, r := range results {
		for i, s := range r.Seconds {
			fmt.Printf("%s second %d: %d requests, p50 %.2f ms, p99 %.2f ms\n", r.Scenario, i+1, s.Requests, s.P50ms, s.P99ms)
		}
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"target": o.target, "results": results}, "", "  ")
		return os.WriteFile(o.jsonOut, b, 0o644)
	}
	return nil
}
