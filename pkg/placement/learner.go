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
	mu         sync.Mutex
	tally      Tally
	since      int     // observations since the last compile
	fade       float64 // weight kept per observation (1: nothing fades)
	coverage   float64
	opts       WorkloadOptions
	sizeWeight float64
	snap       atomic.Pointer[Workload]
}

func newMixLearner(halfLife, coverage float64, o WorkloadOptions) *mixLearner {
	l := &mixLearner{fade: 1, coverage: coverage, opts: o}
	if halfLife > 0 {
		l.fade = math.Exp2(-1 / halfLife)
	}
	l.snap.Store(NewWorkload(nil, o))
	return l
}

// observe counts r. The snapshot is recompiled when a class is new, and
// otherwise once the observations since the last compile reach 1% of the
// weight seen: the mix then changed by at most about 1%.
func (l *mixLearner) observe(r *Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fade < 1 {
		l.tally.Scale(l.fade)
	}
	isNew := l.tally.Add(r, 1)
	l.since++
	if isNew || float64(l.since) >= 0.01*l.tally.Total() {
		top := l.tally.Top(l.coverage)
		if l.sizeWeight != 0 {
			for i := range top {
				top[i].Weight *= math.Pow(float64(top[i].Cards), l.sizeWeight)
			}
		}
		l.snap.Store(NewWorkload(top, l.opts))
		l.since = 0
	}
}

func (l *mixLearner) workload() *Workload { return l.snap.Load() }
