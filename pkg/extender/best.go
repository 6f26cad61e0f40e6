package extender

import (
	"context"
	"slices"

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
	res := e.Filter(ctx, args)
	if res.Error != "" {
		return res
	}
	fitting := fittingNames(res)
	if len(fitting) < 2 {
		return res
	}
	scores := e.Prioritize(ctx, &extenderv1.ExtenderArgs{Pod: args.Pod, NodeNames: &fitting})
	top := slices.MaxFunc(scores, func(a, b extenderv1.HostPriority) int { return int(a.Score - b.Score) }).Score
	best := make(map[string]bool, len(scores))
	for _, hp := range scores {
		if hp.Score == top {
			best[hp.Host] = true
		}
	}
	e.metrics.nodes.WithLabelValues("ranked-lower").Add(float64(len(fitting) - len(best)))
	if res.NodeNames != nil {
		kept := (*res.NodeNames)[:0]
		for _, name := range *res.NodeNames {
			if best[name] {
				kept = append(kept, name)
			}
		}
		res.NodeNames = &kept
		return res
	}
	kept := res.Nodes.Items[:0]
	for _, n := range res.Nodes.Items {
		if best[n.Name] {
			kept = append(kept, n)
		}
	}
	res.Nodes.Items = kept
	return res
}

// fittingNames are the names of the nodes a filter result keeps, in order.
func fittingNames(res *extenderv1.ExtenderFilterResult) []string {
	if res.NodeNames != nil {
		return slices.Clone(*res.NodeNames)
	}
	if res.Nodes == nil {
		return nil
	}
	names := make([]string, len(res.Nodes.Items))
	for i := range res.Nodes.Items {
		names[i] = res.Nodes.Items[i].Name
	}
	return names
}
