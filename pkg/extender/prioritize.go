package extender

import (
	"context"
	"math"
	"slices"

	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Prioritize answers kube-scheduler's prioritize call: a score 0..10 per
// candidate node under the policy, the policy's best node(s) 10. Measured
// load, when fresh, is part of the node the policy sees; when stale or
// missing the node is scored without it. A node the pod no longer fits
// scores 0.
func (e *Extender) Prioritize(ctx context.Context, args *extenderv1.ExtenderArgs) extenderv1.HostPriorityList {
	names := candidateNames(args)
	out := make(extenderv1.HostPriorityList, len(names))
	for i, name := range names {
		out[i].Host = name
	}
	if args.Pod == nil {
		return out
	}
	req, err := translate(args.Pod, e.voc)
	if err != nil || !req.gpu() {
		if err != nil {
			klog.FromContext(ctx).V(2).Info("Pod's GPU request is unusable", "pod", klog.KObj(args.Pod), "err", err)
		}
		return out
	}
	snaps := make([]*nodeSnapshot, len(names))
	e.state.snapshots(names, snaps)
	loads, fresh := e.load.Current()
	raw := make([]float64, len(names))
	scores := make([]int64, len(names))
	var ranks []int
	types := preferredTypes(&req)
	if len(types) > 1 {
		ranks = make([]int, len(names))
	}
	var scratch placement.Node
	missing := 0
	for i, s := range snaps {
		if s == nil || !check(s, &req, e.policy).ok {
			raw[i] = math.NaN()
			continue
		}
		n := &s.node
		if fresh {
			if withLoad(&scratch, n, loads) {
				n = &scratch
			} else {
				missing++
			}
		}
		var typ string
		raw[i], typ = score(n, &req, e.policy)
		if ranks != nil {
			ranks[i] = slices.Index(types, typ)
		}
	}
	e.load.RecordMissing(missing)
	if ranks != nil {
		preferInOrder(raw, ranks)
	}
	placement.Normalize(raw, scores)
	for i := range out {
		out[i].Score = scores[i]
	}
	return out
}

// preferredTypes are the types of the pod's first GPU part in the order the
// user wrote them ("2(V100|T4)": V100 first).
func preferredTypes(req *podRequest) []string {
	for i := range req.parts {
		if req.parts[i].req.Cards > 0 {
			return req.parts[i].req.Types
		}
	}
	return nil
}

// preferInOrder folds the type preference into the raw scores: a node whose
// cards come earlier in the written order ranks above every node of a
// later type, and the policy orders nodes of one type. The spread of the
// policy's scores is kept, so Normalize still spreads them.
func preferInOrder(raw []float64, ranks []int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range raw {
		if !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	step := hi - lo + 1
	for i, v := range raw {
		if !math.IsNaN(v) && ranks[i] > 0 {
			raw[i] = v - float64(ranks[i])*step
		}
	}
}

// withLoad copies n into dst with every card's measured load; false (dst
// unusable) when some card has no utilisation in the snapshot: a partly
// measured node would look idler than it is.
func withLoad(dst, n *placement.Node, loads *load.Snapshot) bool {
	nl, ok := loads.Node(n.Name)
	if !ok || nl.Len() == 0 {
		return false
	}
	cards := dst.Cards[:0]
	*dst = *n
	for i := range n.Cards {
		c := n.Cards[i]
		l, ok := nl.Card(c.Index, c.UUID)
		if !ok || !l.HasUtil {
			dst.Cards = cards
			return false
		}
		c.Load = placement.CardLoad{Utilization: l.Util / 100, MemoryUsedMiB: int64(l.MemoryUsedMiB)}
		cards = append(cards, c)
	}
	dst.Cards = cards
	dst.LoadFresh = true
	return true
}
