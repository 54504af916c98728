package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestBench_EveryScenarioAgainstARunningBroker runs the load program (bench/, issue 6) for a
// moment per scenario against a broker on the embedded store, as the README's Performance
// section runs it: it bootstraps its own client, grant and codes through the same store
// while the server runs, and every scenario must complete requests without an error, with
// its peak, half-peak latency and the JSON report filled in.
func TestBench_EveryScenarioAgainstARunningBroker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	writeDirectory(t, filepath.Join(dir, "example.com.yaml"), "unused-admin-password")
	cfg := filepath.Join(dir, "broker.yaml")
	yaml := fmt.Sprintf(`issuer: http://127.0.0.1:%[1]s
listen: 127.0.0.1:%[1]s
data_dir: %[2]s
log_level: warn
domains:
  - domain: example.com
    provider: static
    directory_file: example.com.yaml
`, port, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startBroker(t, dir, port, brokerEnv(), "serve", "--config", cfg)
	p.waitStatus(t, "/readyz", http.StatusOK)

	bin := filepath.Join(t.TempDir(), "bench")
	build := exec.Command("go", "build", "-o", bin, "./bench")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./bench: %v\n%s", err, out)
	}
	report := filepath.Join(dir, "bench.json")
	scenarios := []string{"redeem", "refresh", "mint", "batch", "introspect", "mixed", "healthz"}
	run := exec.Command(bin, "-config", cfg, "-target", p.base, "-duration", "300ms", "-concurrency", "2,4",
		"-json", report, "-scenario", "all,healthz")
	run.Dir, run.Env = dir, brokerEnv()
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("bench wrote no JSON report: %v\n%s", err, out)
	}
	var rep struct {
		Results []struct {
			Scenario     string  `json:"scenario"`
			PeakRPS      float64 `json:"peak_rps"`
			PeakTokensPS float64 `json:"peak_tokens_per_s"`
			HalfRPS      float64 `json:"half_peak_rps"`
			P50ms        float64 `json:"p50_ms"`
			P99ms        float64 `json:"p99_ms"`
			Errors       int64   `json:"errors"`
			FirstError   string  `json:"first_error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("bench JSON report: %v\n%s", err, b)
	}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Scenario)
		if r.Errors != 0 || r.PeakRPS <= 0 || r.HalfRPS <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms {
			t.Errorf("scenario %s: %+v, want requests without errors, a peak, and p50 ≤ p99 at half of it", r.Scenario, r)
		}
		if r.Scenario == "batch" && r.PeakTokensPS != 100*r.PeakRPS {
			t.Errorf("batch: %.0f tokens/s at %.0f requests/s, want 100 tokens per request", r.PeakTokensPS, r.PeakRPS)
		}
	}
	if !slices.Equal(got, scenarios) {
		t.Errorf("scenarios reported: %v, want %v", got, scenarios)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("broker exit status %d after SIGTERM, want 0\nstderr:\n%s", code, p.stderr)
	}
}
