package extender

import (
	"context"
	"math"
	"slices"
	"sync/atomic"

	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/extender/wire"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Prioritize answers kube-scheduler's prioritize call: a score 0..10 per
// candidate node under the policy, the policy's best node(s) 10. Measured
// load, when fresh, is part of the node the policy sees; when stale or
// missing the node is scored without it. A node the pod no longer fits
// scores 0.
func (e *Extender) Prioritize(ctx context.Context, args *extenderv1.ExtenderArgs) extenderv1.HostPriorityList {
	return e.prioritize(ctx, args, nil)
}

// prioritize is Prioritize with the node names the decoder left pending
// (nil: none), read first.
func (e *Extender) prioritize(ctx context.Context, args *extenderv1.ExtenderArgs, pending *wire.Pending) extenderv1.HostPriorityList {
	names := candidateNames(args)
	raw := pendingNames(args, pending)
	out := make(extenderv1.HostPriorityList, len(names))
	hosts := func() extenderv1.HostPriorityList {
		for i, name := range names {
			out[i].Host = name
		}
		return out
	}
	if args.Pod == nil {
		e.state.Resolve(names, raw, nil)
		return hosts()
	}
	req, draPod, err := e.requestOf(args.Pod)
	if err != nil {
		e.state.Resolve(names, raw, nil)
		klog.FromContext(ctx).V(2).Info("Pod's GPU request is unusable", "pod", klog.KObj(args.Pod), "err", err)
		return hosts()
	}
	// The names are read as their snapshots are found.
	snaps := make([]*cache.NodeSnapshot, len(names))
	e.snapshots(draPod, names, raw, snaps)
	hosts()
	for i, score := range e.scoreNodes(&req, snaps) {
		out[i].Score = score
	}
	return out
}

// scoreNodes scores req on each snapshot, 0..10 relative to the others. A
// nil snapshot, or one the pod does not fit, scores 0.
func (e *Extender) scoreNodes(req *request.Pod, snaps []*cache.NodeSnapshot) []int64 {
	return e.score(req, snaps, nil, func(s *cache.NodeSnapshot) bool { return s != nil && fits(s, req, e.policy) }, nil)
}

// scoreFitting is scoreNodes for snapshots the caller has checked the pod
// fits (filter-best scores what filter kept): they are not checked again.
// free, when not nil, is what they have free per card type
// (filterOutcome.free). The scores are written in bufs (nil: a slice of
// their own).
func (e *Extender) scoreFitting(req *request.Pod, snaps []*cache.NodeSnapshot, free *placement.TypeFree, bufs *scoreBuffers) []int64 {
	return e.score(req, snaps, free, func(*cache.NodeSnapshot) bool { return true }, bufs)
}

// score scores req on the snapshots that usable accepts, 0..10 relative to
// each other; the others score 0. free, when not nil, is what snaps have
// free per card type, for preparing the policy without walking them. The
// working slices and the scores returned are bufs' (nil: their own).
func (e *Extender) score(req *request.Pod, snaps []*cache.NodeSnapshot, free *placement.TypeFree, usable func(*cache.NodeSnapshot) bool, bufs *scoreBuffers) []int64 {
	if bufs == nil {
		bufs = &scoreBuffers{}
	}
	policy := prepareFree(e.policy, snaps, free, req)
	loads, fresh := e.load.Current()
	raw := grown(&bufs.raw, len(snaps))
	scores := grown(&bufs.scores, len(snaps))
	var ranks []int
	types := preferredTypes(req)
	if len(types) > 1 {
		ranks = grown(&bufs.ranks, len(snaps))
	}
	missing := make([]int, chunkCount(len(snaps)))
	warmer, _ := policy.(placement.Warmer)
	var warmed atomic.Int64
	parallelize(len(snaps), func(w, lo, hi int) {
		var scratch placement.Node
		var keys [warmBlock]uint64
		sum := 0
		defer func() { warmed.Add(int64(sum)) }()
		for i := lo; i < hi; i++ {
			if warmer != nil && !fresh && len(req.Parts) == 1 && (i-lo)%warmBlock == 0 {
				// The policy's reads for a block of nodes, ahead (warm).
				k := keys[:0]
				for _, s := range snaps[i:min(i+warmBlock, hi)] {
					if s != nil {
						k = append(k, s.StateKey())
					}
				}
				sum += warmer.Warm(k)
			}
			s := snaps[i]
			if !usable(s) {
				raw[i] = math.NaN()
				continue
			}
			n, key := s.Node(), s.StateKey()
			if fresh {
				if withLoad(&scratch, n, loads) {
					n, key = &scratch, 0
				} else {
					missing[w]++
				}
			}
			var typ string
			raw[i], typ = score(n, key, req, policy, ranks != nil)
			if ranks != nil {
				ranks[i] = slices.Index(types, typ)
			}
		}
	})
	total := 0
	for _, m := range missing {
		total += m
	}
	e.load.RecordMissing(total)
	if ranks != nil {
		preferInOrder(raw, ranks)
	}
	placement.Normalize(raw, scores)
	return scores
}

// prepare lets a policy that ranks nodes against each other (auto's
// card-type pressure) see the candidates first, as the simulator does, so
// that the extender and the replayed figures come from the same scoring.
// kube-scheduler sends prioritize only the nodes filter kept, so the
// candidates are the nodes that fit.
func prepare(policy placement.Policy, snaps []*cache.NodeSnapshot, req *request.Pod) placement.Policy {
	return prepareFree(policy, snaps, nil, req)
}

// prepareFree is prepare with, when not nil, what snaps have free per card
// type: a policy that needs no more of them (placement.FreePreparer)
// prepares from it.
func prepareFree(policy placement.Policy, snaps []*cache.NodeSnapshot, free *placement.TypeFree, req *request.Pod) placement.Policy {
	pre, ok := policy.(placement.Preparer)
	if !ok {
		return policy
	}
	// A pod without cards (the webhook's --placement-resource sends one here)
	// prepares the policy with its host request, as the simulator's replay
	// does for every pod.
	first := firstGPUPart(req)
	if first == nil {
		first = &req.Parts[0].Req
	}
	if fp, ok := policy.(placement.FreePreparer); ok && free != nil {
		return fp.PrepareFree(free, first)
	}
	nodes := make([]*placement.Node, 0, len(snaps))
	for _, s := range snaps {
		if s != nil {
			nodes = append(nodes, s.Node())
		}
	}
	return pre.Prepare(nodes, first)
}

// preferredTypes are the types of the pod's first GPU part in the order the
// user wrote them ("2(V100|T4)": V100 first).
func preferredTypes(req *request.Pod) []string {
	if r := firstGPUPart(req); r != nil {
		return r.Types
	}
	return nil
}

// firstGPUPart is the request of the pod's first container that asks for
// cards, or nil.
func firstGPUPart(req *request.Pod) *placement.Request {
	for i := range req.Parts {
		if req.Parts[i].Req.Cards > 0 {
			return &req.Parts[i].Req
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
