package extender

import (
	"fmt"
	"slices"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// verdict is whether a pod fits a node snapshot and, when not, why.
type verdict struct {
	// node, when set, is the first part of the reason, the node's name:
	// filter writes thousands of reasons that differ only in it, and
	// need not copy each into a string of its own.
	node   string
	reason string
	ok     bool
	// resolvable tells whether freeing cards (preemption) could make the
	// pod fit: false for a wrong card type, a node without the service the
	// pod needs or an unusable node.
	resolvable bool
}

// text is the whole reason.
func (v *verdict) text() string { return v.node + v.reason }

// check tells whether req fits the node. Each part of a multi-part pod is
// placed on what the parts before it left, as bind would place them.
func check(s *cache.NodeSnapshot, req *request.Pod, policy placement.Policy) verdict {
	return checkWith(s, req, policy, nil)
}

// checkWith is check with the refusals of a single-part request worded
// through memo (nil: by placement each time).
func checkWith(s *cache.NodeSnapshot, req *request.Pod, policy placement.Policy, memo *reasonMemo) verdict {
	if s.Err() != nil && req.GPU() {
		// The node's cards are unreadable; its CPU and memory are not, so a
		// pod without cards is still checked on them.
		return verdict{reason: s.Err().Error()}
	}
	if v, ok := checkVendor(s, req); !ok {
		return v
	}
	if len(req.Parts) == 1 {
		r := &req.Parts[0].Req
		v := placement.CheckSummarized(s.Node(), s.Summary(), r)
		if v.OK() {
			return verdict{ok: true}
		}
		// A shortfall preemption could cure, on a node that could hold
		// the pod at all.
		cure := resolvable(v.Short) && placement.ResolvableSummarized(s.Node(), s.Summary(), r)
		if memo == nil {
			return verdict{reason: v.Reason(), resolvable: cure}
		}
		node, rest := memo.parts(s.Shape(), s.Node(), v)
		return verdict{node: node, reason: rest, resolvable: cure}
	}
	n := cloneNode(s.Node())
	for i := range req.Parts {
		r := &req.Parts[i].Req
		if v := placement.Check(n, r); !v.OK() {
			return verdictOf(v)
		}
		if err := n.Assign(r, policy.Evaluate(n, r).Cards); err != nil {
			return verdict{reason: err.Error(), resolvable: true}
		}
	}
	return verdict{ok: true}
}

// fits is check without the reasons, for prioritize, which only needs to
// know.
func fits(s *cache.NodeSnapshot, req *request.Pod, policy placement.Policy) bool {
	if s.Err() != nil && req.GPU() {
		return false
	}
	if _, ok := checkVendor(s, req); !ok {
		return false
	}
	if len(req.Parts) == 1 {
		return placement.CheckSummarized(s.Node(), s.Summary(), &req.Parts[0].Req).OK()
	}
	return check(s, req, policy).ok
}

func verdictOf(v placement.Verdict) verdict {
	if v.OK() {
		return verdict{ok: true}
	}
	return verdict{reason: v.Reason(), resolvable: resolvable(v.Short)}
}

// resolvable tells whether freeing cards could cure a shortfall: not a
// wrong card type nor a node without the service the pod needs. (Nor a
// node too small for the pod even empty: placement.Resolvable.)
func resolvable(s placement.Shortfall) bool {
	switch s {
	case placement.ShortService, placement.ShortNoGPU, placement.ShortType:
		return false
	}
	return true
}

// checkVendor refuses whole cards of a vendor the node's device plugin does
// not hand out: placement knows cards, not vendors' resources.
func checkVendor(s *cache.NodeSnapshot, req *request.Pod) (verdict, bool) {
	if req.WholeResource == "" || s.WholeResource() == "" || s.WholeResource() == req.WholeResource {
		return verdict{}, true
	}
	return verdict{reason: fmt.Sprintf("%s: hands out %s, pod needs %s", s.Node().Name, s.WholeResource(), req.WholeResource)}, false
}

// score rates the node for req under policy; the node must fit req. typ,
// when wantType, is the card type the pod's first GPU part would take
// there, for honouring the order of preferred types. key, when not 0, is
// placement.StateKey(n), which a placement.StateKeyed policy takes instead
// of hashing n again.
func score(n *placement.Node, key uint64, req *request.Pod, policy placement.Policy, wantType bool) (raw float64, typ string) {
	if len(req.Parts) == 1 {
		var p placement.Placement
		if kp, ok := policy.(placement.StateKeyed); ok && key != 0 {
			p = kp.EvaluateKeyed(n, key, &req.Parts[0].Req)
		} else {
			p = policy.Evaluate(n, &req.Parts[0].Req)
		}
		if wantType {
			typ = typeOf(n, p.Cards)
		}
		return p.Score, typ
	}
	scratch := cloneNode(n)
	for i := range req.Parts {
		r := &req.Parts[i].Req
		p := policy.Evaluate(scratch, r)
		raw += p.Score
		if typ == "" {
			typ = typeOf(scratch, p.Cards)
		}
		_ = scratch.Assign(r, p.Cards)
	}
	return raw, typ
}

func typeOf(n *placement.Node, set placement.CardSet) string {
	if set == 0 || set.Max() >= len(n.Cards) {
		return ""
	}
	return n.Cards[set.Max()].Type
}

// choice is the cards bind takes for a pod on a node: what to hold and,
// for vGPU parts, the assignment to write on the pod.
type choice struct {
	holding    *cache.Holding
	assignment *api.Assignment
	// hami, when set, is the cards to tell HAMi's device plugin, by
	// container (hami.io/vgpu-devices-to-allocate).
	hami hami.PodDevices
}

// choose places every part of req on the node under policy, the way check
// placed them, and returns what the pod will hold.
func choose(s *cache.NodeSnapshot, req *request.Pod, policy placement.Policy) (choice, error) {
	if v := check(s, req, policy); !v.ok {
		return choice{}, fmt.Errorf("%w: %s", placement.ErrNoFit, v.text())
	}
	n := cloneNode(s.Node())
	h := &cache.Holding{CPUMilli: req.Parts[0].Req.CPUMilli, MemoryMiB: req.Parts[0].Req.MemoryMiB}
	var a *api.Assignment
	var hd hamiDevices
	onHAMi := s.Node().Sharing == placement.SharingHAMi
	for i := range req.Parts {
		part := &req.Parts[i]
		r := &part.Req
		if r.Cards == 0 {
			continue
		}
		set, err := placement.Choose(policy, n, r)
		if err != nil {
			return choice{}, err
		}
		if err := n.Assign(r, set); err != nil {
			return choice{}, err
		}
		switch {
		case r.IsUnits():
			// the device plugin picks the instance or replica: only the
			// count is booked
			h.Units = append(h.Units, cache.UnitHold{Name: r.Unit, Count: int64(r.Cards)})
			continue
		case !r.UsesVGPU() && onHAMi:
			// HAMi hands out the whole cards of nvidia.com/gpu too, and its
			// device plugin must be told which
			hd.whole(n, set, req.WholeCounts, h)
			continue
		case r.UsesVGPU() && r.Sharing == placement.SharingHAMi:
			hd.part(n, set, part, h)
			continue
		}
		if !r.UsesVGPU() {
			h.WholeCards = r.Cards
			h.WholeTypes = []string{n.Cards[set.Positions()[0]].Type}
			continue
		}
		if a == nil {
			a = &api.Assignment{Version: api.AssignmentVersion, Node: s.Node().Name}
		}
		ca := api.ContainerAssignment{Index: part.Container, Name: part.Name}
		for _, p := range set.Positions() {
			c := &n.Cards[p]
			mem := r.CardMemoryMiB
			if !r.IsShare() {
				mem = c.MemoryMiB // a virtual whole card takes all of its memory
			}
			sh := cache.CardShare{Container: part.Container, Index: c.Index, Milli: r.Milli, MemoryMiB: mem}
			cores := coresOf(r.Milli)
			// The holding books what the annotation will say, so that a
			// restart rebuilds exactly the same one.
			sh.Milli = int64(cores) * placement.MilliPerCard / api.CoresPerCard
			h.Shares = append(h.Shares, sh)
			ca.Cards = append(ca.Cards, api.CardShare{Index: c.Index, Cores: cores, MemoryMiB: mem})
		}
		a.Containers = append(a.Containers, ca)
	}
	slices.SortFunc(h.Shares, func(x, y cache.CardShare) int { return x.Index - y.Index })
	return choice{holding: h, assignment: a, hami: hd.pd}, nil
}

// coresOf turns milli of a card into gpu-manager's cores, rounding up so
// that the pod is never given less than it asked for.
func coresOf(milli int64) int {
	return int((milli*api.CoresPerCard + placement.MilliPerCard - 1) / placement.MilliPerCard)
}

// cloneNode copies a node deeply enough to book on it.
func cloneNode(n *placement.Node) *placement.Node {
	c := *n
	c.Cards = slices.Clone(n.Cards)
	return &c
}
