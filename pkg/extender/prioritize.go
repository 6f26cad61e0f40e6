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
	for i, score := range e.scoreNodes(&req, snaps) {
		out[i].Score = score
	}
	return out
}

// scoreNodes scores req on each snapshot, 0..10 relative to the others. A
// nil snapshot, or one the pod does not fit, scores 0.
func (e *Extender) scoreNodes(req *podRequest, snaps []*nodeSnapshot) []int64 {
	return e.score(req, snaps, func(s *nodeSnapshot) bool { return s != nil && fits(s, req, e.policy) })
}

// scoreFitting is scoreNodes for snapshots the caller has checked the pod
// fits (filter-best scores what filter kept): they are not checked again.
func (e *Extender) scoreFitting(req *podRequest, snaps []*nodeSnapshot) []int64 {
	return e.score(req, snaps, func(*nodeSnapshot) bool { return true })
}

// score scores req on the snapshots that usable accepts, 0..10 relative to
// each other; the others score 0.
func (e *Extender) score(req *podRequest, snaps []*nodeSnapshot, usable func(*nodeSnapshot) bool) []int64 {
	policy := prepare(e.policy, snaps, req)
	loads, fresh := e.load.Current()
	raw := make([]float64, len(snaps))
	scores := make([]int64, len(snaps))
	var ranks []int
	types := preferredTypes(req)
	if len(types) > 1 {
		ranks = make([]int, len(snaps))
	}
	missing := make([]int, workerCount(len(snaps)))
	parallelize(len(snaps), func(w, lo, hi int) {
		var scratch placement.Node
		memo := newScoreMemo(hi - lo)
		for i := lo; i < hi; i++ {
			s := snaps[i]
			if !usable(s) {
				raw[i] = math.NaN()
				continue
			}
			n := &s.node
			if fresh {
				if withLoad(&scratch, n, loads) {
					n = &scratch
				} else {
					missing[w]++
				}
			}
			var slot int
			if n != &scratch {
				var j int
				if j, slot = memo.lookup(snaps, s); j >= 0 {
					raw[i] = raw[j]
					if ranks != nil {
						ranks[i] = ranks[j]
					}
					continue
				}
			}
			var typ string
			raw[i], typ = score(n, req, policy)
			if ranks != nil {
				ranks[i] = slices.Index(types, typ)
			}
			if n != &scratch {
				memo.put(slot, i)
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
func prepare(policy placement.Policy, snaps []*nodeSnapshot, req *podRequest) placement.Policy {
	pre, ok := policy.(placement.Preparer)
	if !ok {
		return policy
	}
	first := firstGPUPart(req)
	if first == nil {
		return policy
	}
	nodes := make([]*placement.Node, 0, len(snaps))
	for _, s := range snaps {
		if s != nil {
			nodes = append(nodes, &s.node)
		}
	}
	return pre.Prepare(nodes, first)
}

// preferredTypes are the types of the pod's first GPU part in the order the
// user wrote them ("2(V100|T4)": V100 first).
func preferredTypes(req *podRequest) []string {
	if r := firstGPUPart(req); r != nil {
		return r.Types
	}
	return nil
}

// firstGPUPart is the request of the pod's first container that asks for
// cards, or nil.
func firstGPUPart(req *podRequest) *placement.Request {
	for i := range req.parts {
		if req.parts[i].req.Cards > 0 {
			return &req.parts[i].req
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

// scoreMemo lets prioritize evaluate the policy once per distinct shape of
// node (many nodes of a cluster are alike: empty, full, or holding the same
// shares) and reuse the score for the others. It is an open-addressing
// table of indexes into the request's snapshots, whose scores the caller
// keeps: a few bytes per candidate, where a map of scores would cost
// hundreds of KiB per call on a varied cluster. Nodes scored with their
// measured load must not be put in. Not safe for concurrent use.
type scoreMemo struct {
	// slots hold 1 + the index of a scored snapshot, 0 when free.
	slots []int32
}

// newScoreMemo returns a memo for up to n nodes, at most half full.
func newScoreMemo(n int) scoreMemo {
	size := 8
	for size < 2*n {
		size *= 2
	}
	return scoreMemo{slots: make([]int32, size)}
}

// lookup returns the index of a node put in earlier with the shape of s
// (all of snaps indexes the same candidates as put's), or -1 and the slot
// for put.
func (m *scoreMemo) lookup(snaps []*nodeSnapshot, s *nodeSnapshot) (j, slot int) {
	h := s.shape.hash
	mask := len(m.slots) - 1
	for slot = int(h) & mask; m.slots[slot] != 0; slot = (slot + 1) & mask {
		t := snaps[m.slots[slot]-1]
		if t.shape.hash == h && sameShape(&t.node, &s.node) {
			return int(m.slots[slot] - 1), slot
		}
	}
	return -1, slot
}

// put records that snapshot i, scored, has the shape lookup found free at
// slot.
func (m *scoreMemo) put(slot, i int) {
	m.slots[slot] = int32(i + 1)
}
