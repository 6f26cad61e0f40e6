package extender

import (
	"runtime"
	"sync"
)

// minChunk is the fewest nodes worth a goroutine: below it the work is
// shorter than starting one.
const minChunk = 256

// parallelize runs f over [0, n) in contiguous chunks, one per CPU at most,
// and returns when all are done; worker numbers the chunks from 0 so that f
// can keep per-worker scratch space. Like kube-scheduler's own parallelism,
// it shortens one request on a many-core machine.
func parallelize(n int, f func(worker, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minChunk)
	if workers <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	size := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := w*size, min((w+1)*size, n)
		if lo >= hi {
			break
		}
		wg.Go(func() { f(w, lo, hi) })
	}
	wg.Wait()
}

// workerCount is how many workers parallelize uses for n items.
func workerCount(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/minChunk))
}
