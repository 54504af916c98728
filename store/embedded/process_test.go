package embedded_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
)

// helperEnv names the file the helper process writes to; the helper does nothing without it.
const helperEnv = "EMBEDDED_TEST_HELPER_DB"

// helperHits is how many rate-limit hits and codes each process writes.
const helperHits = 150

// TestHelperProcess is not a test: TestTwoProcesses_ShareOneFile runs this binary again with
// helperEnv set, and this function is then the second process (the CLI next to the server).
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	s, err := embedded.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("helper open: %v", err)
	}
	defer s.Close()
	writeLoad(t.Context(), t, s, "child")
}

// writeLoad writes helperHits hits on one shared counter and as many codes, from 4
// goroutines, failing t on any error (SQLITE_BUSY would surface as ErrUnavailable).
func writeLoad(ctx context.Context, t *testing.T, s *embedded.Store, who string) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < helperHits; i += 4 {
				if _, _, err := s.Hit(ctx, "shared", time.Hour, t0); err != nil {
					t.Errorf("%s hit: %v", who, err)
					return
				}
				c := testCode(who+"-"+strconv.Itoa(i), t0.Add(time.Minute))
				if err := s.PutCode(ctx, c); err != nil {
					t.Errorf("%s put code: %v", who, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestTwoProcesses_ShareOneFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	ctx := t.Context()
	s, path := openTemp(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writeLoad(ctx, t, s, "parent")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out.String())
	}

	n, err := s.Count(ctx, "shared", time.Hour, t0)
	wantErr(t, "count", err, nil)
	if n != 2*helperHits {
		t.Fatalf("Count = %d, want %d: a process lost or failed writes", n, 2*helperHits)
	}
	for _, who := range []string{"parent", "child"} {
		if _, err := s.ConsumeCode(ctx, who+"-0", t0); err != nil {
			t.Errorf("code written by %s: %v", who, err)
		}
	}
	// The parent sees the child's writes; a code the child wrote is consumed once only.
	_, err = s.ConsumeCode(ctx, "child-0", t0)
	wantErr(t, "second consume", err, store.ErrUsed)
}
