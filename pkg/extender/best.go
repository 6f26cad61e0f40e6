package extender

import (
	"context"
	"slices"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// FilterBest answers a filter call with the decision already taken: of the
// candidates the pod fits, only those the policy ranks first (the ones
// Prioritize would score 10). Refused nodes keep their reasons, exactly as
// Filter words them.
//
// With the shipped weight one step of the extender's score outweighs every
// kube-scheduler score plugin together, so only the nodes the extender ranks
// first can win whatever else kube-scheduler scores: filtering down to them
// makes the same choice with one call instead of two. kube-scheduler skips
// scoring when one node is left, and otherwise breaks the tie among the
// best with its own plugins, as it does with prioritize. Fitting nodes that
// rank lower are left out without a reason: kube-scheduler reports reasons
// only for a pod that fits nowhere, and then every node has one.
func (e *Extender) FilterBest(ctx context.Context, args *extenderv1.ExtenderArgs) *extenderv1.ExtenderFilterResult {
	return e.filterBest(ctx, args).Result()
}

// filterBest is FilterBest before the answer is shaped: filter's outcome
// with the fitting nodes that rank lower taken out of it. They are scored
// as Prioritize scores them, on the snapshots filter checked.
func (e *Extender) filterBest(ctx context.Context, args *extenderv1.ExtenderArgs) *filterOutcome {
	o := e.filterCounting(ctx, args, true)
	if o.snaps == nil || o.fitting < 2 {
		// Nothing to choose between, or no GPU request to rank by (a pod
		// without one fits every candidate, as Prioritize scores them all
		// alike).
		return o
	}
	fitting := make([]*cache.NodeSnapshot, 0, o.fitting)
	for i, ok := range o.fit {
		if ok {
			fitting = append(fitting, o.snaps[i])
		}
	}
	scores := e.scoreFitting(&o.req, fitting, o.free)
	top := slices.Max(scores)
	lower, j := 0, 0
	for i, ok := range o.fit {
		if !ok {
			continue
		}
		if scores[j] != top {
			o.fit[i] = false
			lower++
		}
		j++
	}
	o.fitting -= lower
	e.metrics.nodes.WithLabelValues("ranked-lower").Add(float64(lower))
	return o
}
