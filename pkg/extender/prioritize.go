package extender

import (
	"context"
	"math"

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
		raw[i] = score(n, &req, e.policy)
	}
	e.load.RecordMissing(missing)
	placement.Normalize(raw, scores)
	for i := range out {
		out[i].Score = scores[i]
	}
	return out
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
