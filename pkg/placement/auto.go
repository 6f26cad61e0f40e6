package placement

// AutoOptions tune the auto policy. Zero fields take the defaults.
type AutoOptions struct {
	// Coverage is the share of the observed requests (by weight, most
	// frequent classes first) the learned mix keeps. Default 1: all of them.
	Coverage float64
	// HalfLife is the number of observations after which an observed
	// request weighs half as much, so the mix follows a changing workload.
	// Default 0: nothing fades.
	HalfLife float64
	// LoadWeight prices measured card load when Node.LoadFresh: placing g
	// milli on a card busy u (0..1) costs LoadWeight*u*g milli of
	// fragmentation. Default 0.5; negative turns load-awareness off.
	LoadWeight float64
	// PackWeight prices the GPU left free on the node after placement, in
	// milli of fragmentation per milli left free. Default 0.
	PackWeight float64
	// IgnoreHostMemory measures fragmentation on CPU alone, as the paper.
	IgnoreHostMemory bool
	// Fill: measure consumable capacity (WorkloadOptions.Fill).
	Fill float64
	TightCard bool
	// SizeWeight: a class weighs count * (GPU cards)^SizeWeight.
	SizeWeight float64
}

func (o AutoOptions) withDefaults() AutoOptions {
	if o.Coverage <= 0 || o.Coverage > 1 {
		o.Coverage = 1
	}
	if o.LoadWeight == 0 {
		o.LoadWeight = 0.5
	}
	return o
}

// Auto is gpuplane's default policy: fragmentation gradient descent against
// a workload mix learned online from the requests observed so far (never
// from requests still to come), aware of host memory and of measured load.
type Auto struct {
	o AutoOptions
	l *mixLearner
}

var (
	_ Policy  = (*Auto)(nil)
	_ Learner = (*Auto)(nil)
)

// NewAuto returns an auto policy that has observed nothing yet.
func NewAuto(o AutoOptions) *Auto {
	o = o.withDefaults()
	l := newMixLearner(o.HalfLife, o.Coverage, WorkloadOptions{HostMemory: !o.IgnoreHostMemory, Fill: o.Fill})
	l.sizeWeight = o.SizeWeight
	return &Auto{o: o, l: l}
}

// Name implements Policy.
func (*Auto) Name() string { return PolicyAuto }

// Observe implements Learner.
func (a *Auto) Observe(r *Request) { a.l.observe(r) }

// Workload is the mix learned so far.
func (a *Auto) Workload() *Workload { return a.l.workload() }

// Evaluate implements Policy: -ΔF against the learned mix (see FGD), less
// the price of measured load, less the price of GPU left free.
func (a *Auto) Evaluate(n *Node, r *Request) Placement {
	w := a.l.workload()
	var tie func(int) float64
	loadAware := a.o.LoadWeight > 0 && n.LoadFresh && r.Cards > 0
	if loadAware {
		tie = func(i int) float64 { return n.Cards[i].Load.Utilization }
	} else if a.o.TightCard {
		tie = func(i int) float64 { return float64(n.Cards[i].FreeMilli()) }
	}
	before := w.usable(n, 0, 0, 0, 0)
	after, set := bestAfter(w, n, r, tie)
	g := float64(r.GPUMilli())
	score := g + after - before
	if loadAware {
		for i := range n.Cards {
			if set.Has(i) {
				score -= a.o.LoadWeight * n.Cards[i].Load.Utilization * float64(r.Milli)
			}
		}
	}
	if a.o.PackWeight > 0 {
		score -= a.o.PackWeight * float64(n.GPUMilli()-n.UsedGPUMilli()-r.GPUMilli())
	}
	return Placement{Score: score, Cards: set}
}
