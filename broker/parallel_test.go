package broker

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestInParallel_EachIndexOnceAndFirstError(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, minPerWorker - 1, minPerWorker, 2*minPerWorker + 1, 100, 1000} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			t.Parallel()
			calls := make([]atomic.Int32, n)
			if err := inParallel(n, func(i int) error { calls[i].Add(1); return nil }); err != nil {
				t.Fatalf("inParallel: %v", err)
			}
			for i := range calls {
				if got := calls[i].Load(); got != 1 {
					t.Errorf("f(%d) called %d times, want 1", i, got)
				}
			}
		})
	}
	t.Run("an error is returned", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		err := inParallel(100, func(i int) error {
			if i == 70 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("inParallel = %v, want %v", err, boom)
		}
	})
}

// A goroutine that stalls on one item holds up only the rest of its chunk: the others take
// every other item meanwhile. (With a fixed half for each goroutine, the stalled one's half
// would wait with it.)
func TestInParallel_StalledWorkerHoldsOnlyItsChunk(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const n = 100
	var stalled atomic.Bool
	var done atomic.Int32
	err := inParallel(n, func(i int) error {
		if stalled.CompareAndSwap(false, true) { // the first call starts a chunk
			deadline := time.Now().Add(10 * time.Second)
			for done.Load() < n-parallelChunk {
				if time.Now().After(deadline) {
					return fmt.Errorf("item %d stalled: %d of the %d items outside its chunk done", i, done.Load(), n-parallelChunk)
				}
				time.Sleep(time.Millisecond)
			}
		}
		done.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := done.Load(); got != n {
		t.Errorf("%d items done, want %d", got, n)
	}
}

// With two processors, a batch's two halves run at the same time: the first item of the
// first half waits for the first item of the second half to have started.
func TestInParallel_RunsConcurrently(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	n := 2 * minPerWorker
	second := make(chan struct{})
	err := inParallel(n, func(i int) error {
		switch i {
		case n / 2:
			close(second)
		case 0:
			select {
			case <-second:
			case <-time.After(10 * time.Second):
				return errors.New("the second half never started while the first was running")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
