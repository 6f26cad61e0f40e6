package placement

import (
	"math"
	"sync"
	"sync/atomic"
)

// mixLearner learns the workload mix online from the requests it observes.
// Observe takes a lock; readers get an immutable compiled snapshot without
// one, so scoring never waits on learning.
type mixLearner struct {
	mu       sync.Mutex
	tally    Tally
	since    int     // observations since the last compile
	fade     float64 // weight kept per observation (1: nothing fades)
	coverage float64
	limit    int    // most classes kept
	version  uint64 // of the last snapshot
	snap     atomic.Pointer[Workload]
}

func newMixLearner(halfLife, coverage float64, limit int) *mixLearner {
	l := &mixLearner{fade: 1, coverage: coverage, limit: limit}
	if halfLife > 0 {
		l.fade = math.Exp2(-1 / halfLife)
	}
	l.snap.Store(NewWorkload(nil))
	return l
}

// observe counts r. The snapshot is recompiled once the observations since
// the last compile reach 5% of the weight seen (the mix then changed by at
// most about 5%: 1% and 2% place no better on the trace, and every recompile
// empties auto's cache), and, while fewer than warmUp requests were seen,
// also when a class is new. Recompiling sorts the classes, so an endless variety of
// requests must not trigger it on every one.
func (l *mixLearner) observe(r *Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fade < 1 {
		l.tally.Scale(l.fade)
	}
	isNew := l.tally.Add(r, 1)
	l.since++
	if (isNew && l.tally.Total() < warmUp) || float64(l.since) >= 0.05*l.tally.Total() {
		w := NewWorkload(l.tally.Top(l.coverage, l.limit))
		l.version++
		w.version = l.version
		l.snap.Store(w)
		l.since = 0
	}
}

// warmUp is how many observations a new class recompiles the mix for.
const warmUp = 1000

func (l *mixLearner) workload() *Workload { return l.snap.Load() }
