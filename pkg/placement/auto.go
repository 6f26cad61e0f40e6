package placement

import "sync/atomic"

// AutoOptions tune the auto policy. Zero fields take the defaults; the
// defaults are what docs/placement.md measured best.
type AutoOptions struct {
	// Coverage is the share of the observed requests (most frequent classes
	// first) the learned mix keeps; the rarest classes add cost, not
	// placement quality. Default 0.99.
	Coverage float64
	// MaxClasses caps the classes of the learned mix (the most frequent
	// ones), bounding the cost of a score whatever the variety of requests.
	// Default 64.
	MaxClasses int
	// HalfLife is the number of observations after which an observed
	// request weighs half as much, so that the mix follows a changing
	// workload. Default 0: nothing fades.
	HalfLife float64
	// ShareFill blends, for share classes, what the class could consume of
	// the node (as many of its shares as the free cores, CPU and memory hold
	// together) into the paper's count (the free cores of the cards one
	// share would fit): 0 is the paper's measure, 1 consumption only.
	// Default 0.5; negative means 0.
	ShareFill float64
	// PressureGamma and PressureLimit weigh classes limited to some card
	// types by the pressure on those types among the candidate nodes (their
	// demand over their free cores, relative to the whole mix's): weight
	// times pressure^PressureGamma, clamped to [1/PressureLimit,
	// PressureLimit]. Defaults 3 and 100; a negative gamma turns it off.
	PressureGamma, PressureLimit float64
	// IgnoreHostMemory measures on CPU alone, as the paper does; by default
	// a class also needs the node's free host memory.
	IgnoreHostMemory bool
	// LoadWeight prices measured card load when Node.LoadFresh: placing g
	// milli on a card busy u (0..1) costs LoadWeight*u*g milli of
	// fragmentation, and between cards that leave the same fragmentation the
	// less busy one wins. Default 0.5; negative turns load-awareness off.
	LoadWeight float64
}

// withDefaults applies the documented defaults, in one place.
func (o AutoOptions) withDefaults() AutoOptions {
	if o.Coverage <= 0 || o.Coverage > 1 {
		o.Coverage = 0.99
	}
	if o.MaxClasses <= 0 {
		o.MaxClasses = 64
	}
	switch {
	case o.ShareFill == 0:
		o.ShareFill = 0.5
	case o.ShareFill < 0:
		o.ShareFill = 0
	case o.ShareFill > 1:
		o.ShareFill = 1
	}
	if o.PressureGamma == 0 {
		o.PressureGamma = 3
	}
	if o.PressureLimit <= 1 {
		o.PressureLimit = 100
	}
	if o.LoadWeight == 0 {
		o.LoadWeight = 0.5
	}
	return o
}

// Auto is gpuplane's default policy: fragmentation gradient descent against
// a workload mix learned online from the requests observed so far (never
// from requests still to come), with three additions measured on the trace
// (docs/placement.md): a class must also fit the node's host memory; a share
// class counts what it could consume, not only whether one share fits; and
// classes limited to card types in short supply weigh more, so that other
// requests keep off those cards. With fresh load data it also prefers idle
// cards.
type Auto struct {
	o         AutoOptions
	l         *mixLearner
	m         measure
	cache     *evalCache
	lastScale atomic.Pointer[scaleMemo]
}

var (
	_ Preparer     = (*Auto)(nil)
	_ FreePreparer = (*Auto)(nil)
	_ Learner      = (*Auto)(nil)
	_ StateKeyed   = (*Auto)(nil)
	_ StateKeyed   = autoView{}
	_ Warmer       = autoView{}
)

// NewAuto returns an auto policy that has observed nothing yet.
func NewAuto(o AutoOptions) *Auto {
	o = o.withDefaults()
	return &Auto{o: o, l: newMixLearner(o.HalfLife, o.Coverage, o.MaxClasses), m: measure{memory: !o.IgnoreHostMemory, shareFill: o.ShareFill}, cache: newEvalCache()}
}

// Name implements Policy.
func (*Auto) Name() string { return PolicyAuto }

// Observe implements Learner. Requests of units (MIG instances,
// time-slicing replicas) are not part of the mix: they fragment no card.
func (a *Auto) Observe(r *Request) {
	if !r.IsUnits() {
		a.l.observe(r)
	}
}

// Workload is the mix learned so far.
func (a *Auto) Workload() *Workload { return a.l.workload() }

// Prepare implements Preparer: the learned mix as it is now, its typed
// classes weighed by the pressure on their card types among nodes.
func (a *Auto) Prepare(nodes []*Node, r *Request) Policy {
	return a.prepare(r, func(w *Workload) []float64 { return w.typePressure(nodes, a.o.PressureGamma, a.o.PressureLimit) })
}

// PrepareFree implements FreePreparer: Prepare for the nodes whose free
// cards free counted, without walking them again.
func (a *Auto) PrepareFree(free *TypeFree, r *Request) Policy {
	return a.prepare(r, func(w *Workload) []float64 { return w.typePressureOf(free, a.o.PressureGamma, a.o.PressureLimit) })
}

// prepare is Prepare with the type pressure of the candidates from
// pressure.
func (a *Auto) prepare(r *Request, pressure func(*Workload) []float64) Policy {
	w := a.l.workload()
	m := a.m
	if a.o.PressureGamma > 0 {
		if next := pressure(w); next != nil {
			kept := false
			m.scale, kept = stickyScale(a.lastScale.Load(), w.version, next)
			if !kept {
				a.lastScale.Store(&scaleMemo{version: w.version, scale: m.scale})
			}
		}
	}
	return autoView{a: a, w: w, m: m, r: r, key: reqKey(r, w, m.scale)}
}

// autoView is auto for one request: one snapshot of the mix and measure.
type autoView struct {
	a   *Auto
	w   *Workload
	m   measure
	r   *Request
	key uint64 // the cache key of r against w and m
}

func (v autoView) Name() string { return PolicyAuto }

func (v autoView) Evaluate(n *Node, r *Request) Placement {
	return v.EvaluateKeyed(n, StateKey(n), r)
}

// Warm implements Warmer: the cache entries' tags of the keys, for the
// request the view was prepared for.
func (v autoView) Warm(keys []uint64) int {
	return v.a.cache.warm(keys, v.key)
}

// EvaluateKeyed implements StateKeyed.
func (v autoView) EvaluateKeyed(n *Node, node uint64, r *Request) Placement {
	key := v.key
	if r != v.r {
		key = reqKey(r, v.w, v.m.scale)
	}
	return v.a.cached(v.w, v.m, key, node, n, r)
}

// Evaluate implements Policy without the candidates' view (no type
// pressure); Prepare and the returned policy's Evaluate are preferred.
func (a *Auto) Evaluate(n *Node, r *Request) Placement {
	return a.EvaluateKeyed(n, StateKey(n), r)
}

// EvaluateKeyed implements StateKeyed.
func (a *Auto) EvaluateKeyed(n *Node, node uint64, r *Request) Placement {
	w := a.l.workload()
	return a.cached(w, a.m, reqKey(r, w, nil), node, n, r)
}

// cached is evaluate through the cache of results by node state; node is
// StateKey(n).
func (a *Auto) cached(w *Workload, m measure, req, node uint64, n *Node, r *Request) Placement {
	if r.IsUnits() {
		return Placement{Score: unitsUsedAfter(n, r)}
	}
	if pl, ok := a.cache.get(node, req); ok {
		return pl
	}
	pl := a.evaluate(w, m, n, r)
	a.cache.put(node, req, pl)
	return pl
}

// evaluate scores -ΔF against the mix (see fgd) in the auto measure, less
// the price of measured load.
func (a *Auto) evaluate(w *Workload, m measure, n *Node, r *Request) Placement {
	var tie func(int) float64
	loadAware := a.o.LoadWeight > 0 && n.LoadFresh && r.Cards > 0
	if loadAware {
		tie = func(i int) float64 { return n.Cards[i].Load.Utilization }
	}
	before := w.usable(n, 0, 0, 0, 0, m)
	after, set := bestAfter(w, n, r, m, tie)
	score := float64(r.GPUMilli()) + after - before
	if loadAware {
		for i := range n.Cards {
			if set.Has(i) {
				score -= a.o.LoadWeight * n.Cards[i].Load.Utilization * float64(r.Milli)
			}
		}
	}
	return Placement{Score: score, Cards: set}
}
