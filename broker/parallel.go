package broker

import (
	"runtime"
	"sync"
)

// minPerWorker is the fewest items inParallel gives a goroutine of its own. An item is a
// delegated JWT's signature (~25 µs of CPU), so below this a second goroutine costs more in
// scheduling than it saves.
const minPerWorker = 16

// inParallel runs f(0) … f(n-1), split into contiguous runs on up to GOMAXPROCS goroutines,
// and returns the first error any call returned (the other calls still run). f must be safe
// to call concurrently for different i.
//
// It exists for batch mint (SPEC §4): a batch of 100 is 100 signatures, and on one
// goroutine its latency is all of them back to back while the other cores may be idle.
// Small batches (and single mints) run on the caller's goroutine.
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
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		run := func() {
			for i := lo; i < hi; i++ {
				if err := f(i); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		}
		if w == workers-1 { // the caller takes the last run itself
			run()
			continue
		}
		wg.Go(run)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
