package broker

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// minPerWorker is the fewest items inParallel gives a goroutine of its own. An item is a
// delegated JWT's signature (~25 µs of CPU), so below this a second goroutine costs more in
// scheduling than it saves.
const minPerWorker = 16

// parallelChunk is how many items a goroutine of inParallel takes at a time.
const parallelChunk = 4

// inParallel runs f(0) … f(n-1) on up to GOMAXPROCS goroutines, the caller's included, and
// returns the first error any call returned (the other calls still run). f must be safe to
// call concurrently for different i.
//
// It exists for batch mint (SPEC §4): a batch of 100 is 100 signatures, and on one
// goroutine its latency is all of them back to back while the other cores may be idle.
// The goroutines take parallelChunk items at a time until none is left, rather than a fixed
// share each: when a helper cannot start at once (its processor busy with another request),
// the caller goes on with the items the helper would have had, so no batch waits on a
// processor that is busy elsewhere. Small batches (and single mints) run on the caller's
// goroutine.
func inParallel(n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/minPerWorker)
	if workers <= 1 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	run := func() {
		for {
			lo := int(next.Add(parallelChunk)) - parallelChunk
			if lo >= n {
				return
			}
			for i := lo; i < min(lo+parallelChunk, n); i++ {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
	return first
}

// started runs f on a goroutine of its own from now on and returns the wait for its result.
func started(f func() error) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return func() error { return <-done }
}
