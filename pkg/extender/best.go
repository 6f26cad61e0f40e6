package extender

import (
	"context"
	"slices"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/extender/wire"
)

// FilterBest answers a filter call with the decision already taken: of the
// candidates the pod fits, the one the policy ranks first (Prioritize would
// score it 10), and among several so ranked the one whose name sorts first.
// When no candidate fits, every node has its reason, exactly as Filter
// words it.
//
// With the shipped weight one step of the extender's score outweighs every
// kube-scheduler score plugin together, so only the nodes the extender ranks
// first can win whatever else kube-scheduler scores. Among those, the first
// name is the simulator's tie-break (the paper's, `simulate --ties name`):
// left to kube-scheduler, its score plugins (NodeResourcesFit's
// LeastAllocated, BalancedAllocation) spread equal pods over empty nodes
// where the first name packs them, which measurably loses allocation
// (docs/extender.md). One node left, kube-scheduler skips scoring and binds
// it. Fitting nodes that rank lower are left out without a reason, and so
// are the refused nodes when a node is kept: kube-scheduler reads the
// reasons only for a pod that fits nowhere (its message and preemption),
// and then every node has one. At thousands of candidates the reasons were
// most of a 180 KB answer that kube-scheduler decoded and dropped.
func (e *Extender) FilterBest(ctx context.Context, args *extenderv1.ExtenderArgs) *extenderv1.ExtenderFilterResult {
	o := e.filterBest(ctx, args, nil)
	defer o.release()
	return o.Result()
}

// filterBest is FilterBest before the answer is shaped: filter's outcome
// with the fitting nodes that rank lower taken out of it. They are scored
// as Prioritize scores them, on the snapshots filter checked. pending are
// the names the decoder left to read (nil: none).
func (e *Extender) filterBest(ctx context.Context, args *extenderv1.ExtenderArgs, pending *wire.Pending) *filterOutcome {
	o := e.filterCounting(ctx, args, pending, countFree)
	o.quiet = o.fitting > 0
	if o.snaps == nil || o.fitting < 2 {
		// Nothing to choose between: no candidate checked (the pod's
		// request is unusable), or at most one fits.
		return o
	}
	fitting := grown(&o.bufs.fitting, o.fitting)[:0]
	for i, ok := range o.fit {
		if ok {
			fitting = append(fitting, o.snaps[i])
		}
	}
	scores := e.scoreFitting(&o.req, fitting, o.free, &o.bufs.scores)
	top := slices.Max(scores)
	// Of the nodes ranked first, the one whose name sorts first, kept by its
	// index in fitting so that the pass below compares indexes, not names.
	first := -1
	for j, s := range fitting {
		if scores[j] == top && (first < 0 || s.Node().Name < fitting[first].Node().Name) {
			first = j
		}
	}
	lower, j := 0, 0
	for i, ok := range o.fit {
		if !ok {
			continue
		}
		if j != first {
			o.fit[i] = false
			lower++
		}
		j++
	}
	o.fitting -= lower
	e.metrics.nodes.WithLabelValues("ranked-lower").Add(float64(lower))
	return o
}
