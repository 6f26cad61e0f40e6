package extender

import (
	"context"
	"runtime"

	"k8s.io/client-go/util/workqueue"
)

// minChunk is the fewest nodes worth a goroutine: below it the work is
// shorter than starting one.
const minChunk = 256

// parallelize runs f over [0, n) in contiguous chunks, one per CPU at most,
// with client-go's ParallelizeUntil (what kube-scheduler's own parallelism
// is built on), and returns when all are done. f gets the chunk's number,
// from 0, so that it can keep per-chunk scratch space (memos, a node to
// score with load): ParallelizeUntil hands out single pieces, so the pieces
// here are the chunks. Every chunk runs: a request whose client went away
// still gets its answer built, as without workers.
func parallelize(n int, f func(chunk, lo, hi int)) {
	chunks := workerCount(n)
	if chunks == 1 {
		f(0, 0, n)
		return
	}
	size := (n + chunks - 1) / chunks
	workqueue.ParallelizeUntil(context.Background(), chunks, chunks, func(c int) {
		if lo, hi := c*size, min((c+1)*size, n); lo < hi {
			f(c, lo, hi)
		}
	})
}

// workerCount is how many chunks parallelize cuts n items into.
func workerCount(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/minChunk))
}
