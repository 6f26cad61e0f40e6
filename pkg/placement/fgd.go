package placement

import (
	"iter"
	"math"
)

// fgd is Fragmentation Gradient Descent (Weng et al., "Beware of
// Fragmentation", USENIX ATC '23): place a request where it increases the
// node's fragmentation against the workload mix the least, choosing the
// card of a share the same way.
type fgd struct{ w *Workload }

// FGD returns the fragmentation-gradient policy measured against mix w (the
// paper takes it from the whole trace).
func FGD(w *Workload) Policy { return fgd{w: w} }

func (fgd) Name() string { return PolicyFGD }

// Evaluate scores the placement as the paper's simulator does: with
// -ΔF the decrease of the node's fragmentation F_n(M) in milli (the
// request's own cores leave the free pool, so -ΔF = g - (usable before -
// usable after), g the request's GPU milli), the score is the integer
// ⌊100·sigmoid(-ΔF/1000)⌋, and a share takes the first card (by position)
// of the best such score. The integer makes placements whose ΔF differ by
// less than about 40 milli equal, and equal scores go to the node whose
// name sorts first in the paper's simulator: both decide where FGD puts
// most pods (docs/placement.md, "A faithful FGD").
func (p fgd) Evaluate(n *Node, r *Request) Placement {
	if r.IsUnits() {
		return Placement{Score: unitsUsedAfter(n, r)}
	}
	before := p.w.usable(n, 0, 0, 0, 0, paperMeasure())
	g := float64(r.GPUMilli())
	if !r.IsShare() {
		after, set := bestAfter(p.w, n, r, paperMeasure(), nil)
		return Placement{Score: paperScore(g + after - before), Cards: set}
	}
	best := -1.0
	var bestSet CardSet
	for i := range shareCards(n, r) {
		if sameStateBefore(n, r, i) {
			continue // the same node state as an earlier card: the earlier one wins ties
		}
		after := p.w.usable(n, CardSet(0).With(i), r.Milli, r.CPUMilli, r.MemoryMiB, paperMeasure())
		if s := paperScore(g + after - before); s > best {
			best, bestSet = s, CardSet(0).With(i)
		}
	}
	return Placement{Score: best, Cards: bestSet}
}

// shareCards yields the positions of the cards of n share r may take.
func shareCards(n *Node, r *Request) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n.Cards {
			c := &n.Cards[i]
			if r.allows(c.Type) && shareFits(c, r) && !yield(i) {
				return
			}
		}
	}
}

// paperScore is the FGD score plugin's integer: ⌊100·sigmoid(gain/1000)⌋
// for a decrease of fragmentation gain in milli.
func paperScore(gain float64) float64 {
	return math.Trunc(100 / (1 + math.Exp(-gain/1000)))
}

// sameStateBefore tells whether a card before position i that r may take
// leaves the node in the same state as card i would (same type, free cores
// and idleness).
func sameStateBefore(n *Node, r *Request, i int) bool {
	c := &n.Cards[i]
	for j := 0; j < i; j++ {
		o := &n.Cards[j]
		if o.FreeMilli() == c.FreeMilli() && o.Type == c.Type && o.Idle() == c.Idle() && shareFits(o, r) {
			return true
		}
	}
	return false
}

// bestAfter returns the highest usable GPU left on n once r is placed, over
// the card choices of r, and that choice. Among choices that leave the same,
// the lower tie cost wins (nil: the first card).
func bestAfter(w *Workload, n *Node, r *Request, m measure, tie func(i int) float64) (float64, CardSet) {
	switch {
	case r.Cards == 0:
		return w.usable(n, 0, 0, r.CPUMilli, r.MemoryMiB, m), 0
	case r.IsShare():
		return bestShareAfter(w, n, r, m, tie)
	}
	var best float64
	var bestSet CardSet
	found := false
	for i := range n.Cards {
		t := n.Cards[i].Type
		if !r.allows(t) || typeSeenBefore(n, i) || idleOfType(n, t) < r.Cards {
			continue
		}
		set := pickIdleOfType(n, r.Cards, t, tie)
		u := w.usable(n, set, MilliPerCard, r.CPUMilli, r.MemoryMiB, m)
		if !found || u > best {
			best, bestSet, found = u, set, true
		}
	}
	return best, bestSet
}

func bestShareAfter(w *Workload, n *Node, r *Request, m measure, tie func(i int) float64) (float64, CardSet) {
	var best, bestTie float64
	bestPos := -1
	// Cards of one type with the same free cores lead to the same node state:
	// measure each such state once.
	var tried [MaxCards]int
	var triedU [MaxCards]float64
	nTried := 0
	for i := range shareCards(n, r) {
		c := &n.Cards[i]
		k := 0
		for ; k < nTried; k++ {
			o := &n.Cards[tried[k]]
			if o.FreeMilli() == c.FreeMilli() && o.Type == c.Type && o.Idle() == c.Idle() {
				break
			}
		}
		var u float64
		if k < nTried {
			if tie == nil {
				continue // same state, and the first card wins ties
			}
			u = triedU[k]
		} else {
			u = w.usable(n, CardSet(0).With(i), r.Milli, r.CPUMilli, r.MemoryMiB, m)
			tried[nTried], triedU[nTried] = i, u
			nTried++
		}
		var t float64
		if tie != nil {
			t = tie(i)
		}
		if bestPos < 0 || u > best || (u == best && t < bestTie) {
			best, bestTie, bestPos = u, t, i
		}
	}
	return best, CardSet(0).With(bestPos)
}

func typeSeenBefore(n *Node, i int) bool {
	t := n.Cards[i].Type
	for j := 0; j < i; j++ {
		if n.Cards[j].Type == t {
			return true
		}
	}
	return false
}

// pickIdleOfType chooses k idle cards of type t: the first ones, or the
// lowest tie cost first.
func pickIdleOfType(n *Node, k int, t string, tie func(i int) float64) CardSet {
	var set CardSet
	for set.Len() < k {
		best := -1
		var bestCost float64
		for i := range n.Cards {
			c := &n.Cards[i]
			if set.Has(i) || c.Type != t || !c.Idle() {
				continue
			}
			if tie == nil {
				best = i
				break
			}
			if cost := tie(i); best < 0 || cost < bestCost {
				best, bestCost = i, cost
			}
		}
		if best < 0 {
			return set
		}
		set = set.With(best)
	}
	return set
}
