package extender

import (
	"context"
	"runtime"

	"k8s.io/client-go/util/workqueue"
)

// minChunk is the fewest nodes worth a chunk of their own: below it the
// work is shorter than handing it out.
const minChunk = 256

// chunksPerCPU is how many chunks parallelize cuts the work into per CPU
// at most: a worker that starts late, its thread asleep or its core taken,
// then leaves the other workers more chunks instead of leaving the call
// waiting for its whole share.
const chunksPerCPU = 4

// parallelize runs f over [0, n) in contiguous chunks with client-go's
// ParallelizeUntil (what kube-scheduler's own parallelism is built on), one
// worker per CPU taking the chunks in turn, and returns when all are done.
// f gets the chunk's number, from 0 to chunkCount(n), so that it can keep
// per-chunk scratch space (memos, a node to score with load). Every chunk
// runs: a request whose client went away still gets its answer built, as
// without workers.
func parallelize(n int, f func(chunk, lo, hi int)) {
	chunks := chunkCount(n)
	if chunks == 1 {
		f(0, 0, n)
		return
	}
	size := (n + chunks - 1) / chunks
	workers := min(chunks, runtime.GOMAXPROCS(0))
	workqueue.ParallelizeUntil(context.Background(), workers, chunks, func(c int) {
		if lo, hi := c*size, min((c+1)*size, n); lo < hi {
			f(c, lo, hi)
		}
	})
}

// chunkCount is how many chunks parallelize cuts n items into.
func chunkCount(n int) int {
	if runtime.GOMAXPROCS(0) == 1 {
		return 1
	}
	return max(1, min(chunksPerCPU*runtime.GOMAXPROCS(0), n/minChunk))
}
