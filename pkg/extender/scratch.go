package extender

import (
	"sync"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
)

// outcomePool lends filter outcomes with the slices of an earlier call, so
// that a call over thousands of candidates allocates next to nothing: at
// 5,000 nodes the verdicts, snapshots and scores of one call are about
// 300 KiB, and as garbage after every call they brought the collector round
// every few dozen calls, the slowest of them waiting on it
// (BenchmarkFilterBestHTTP, docs/performance.md). The zero value is ready.
type outcomePool struct{ p sync.Pool }

// maxPooledCandidates bounds the outcomes kept: a call with more candidates
// than any cluster has is left to the garbage collector.
const maxPooledCandidates = 1 << 16

// get returns an outcome for args with n candidates and room for n of
// everything, fit all false; the caller gives it back with release when its
// answer has been written.
func (p *outcomePool) get(n int) *filterOutcome {
	o, _ := p.p.Get().(*filterOutcome)
	if o == nil {
		o = &filterOutcome{}
	}
	bufs := o.bufs
	*o = filterOutcome{pool: p, bufs: bufs}
	o.fit = grown(&o.bufs.fit, n)
	clear(o.fit)
	return o
}

// release gives o back to its pool, if it came from one. Nothing may use o
// afterwards.
func (o *filterOutcome) release() {
	p := o.pool
	if p == nil || cap(o.bufs.fit) > maxPooledCandidates {
		return
	}
	// Drop the snapshots this call read: replaced ones must not stay alive
	// in the pool. The verdicts are left as they are (clearing them took about
	// 4% of a call's CPU at 5,000 candidates): they hold only strings,
	// the names the state holds anyway and reasons mostly shared by alike nodes,
	// and the next call that borrows them writes every one it reads.
	clear(o.bufs.snaps[:cap(o.bufs.snaps)])
	clear(o.bufs.fitting[:cap(o.bufs.fitting)])
	bufs := o.bufs
	*o = filterOutcome{bufs: bufs}
	p.p.Put(o)
}

// outcomeBuffers are the slices an outcome lends its call, kept from call
// to call.
type outcomeBuffers struct {
	fit      []bool
	verdicts []verdict
	snaps    []*cache.NodeSnapshot
	// fitting and scores are filter-best's: the snapshots that fit and
	// their scores.
	fitting []*cache.NodeSnapshot
	scores  scoreBuffers
}

// scoreBuffers are score's working slices; a nil *scoreBuffers makes
// score allocate its own.
type scoreBuffers struct {
	raw    []float64
	scores []int64
	ranks  []int
}

// grown returns (*buf)[:n], growing *buf when it is shorter; the elements
// keep whatever they held.
func grown[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}
