package placement

import "math"

// The baseline policies: what HAMi and gpu-admission ship (binpack, spread)
// and the classic best fit. They look at one node at a time and at
// allocations only.

type binpack struct{}

// Binpack fills the fullest node first, and on a node the fullest card that
// holds a share: it keeps idle nodes idle for large requests.
func Binpack() Policy { return binpack{} }

func (binpack) Name() string { return PolicyBinpack }

func (binpack) Evaluate(n *Node, r *Request) Placement {
	if r.IsUnits() {
		return Placement{Score: unitsUsedAfter(n, r)}
	}
	if r.Cards == 0 {
		return Placement{Score: cpuUsedAfter(n, r)}
	}
	set := pickCards(n, r, tightest)
	return Placement{Score: gpuUsedAfter(n, r), Cards: set}
}

type spread struct{}

// Spread fills the emptiest node first, and on a node the emptiest card: it
// keeps load apart at the cost of fragmentation.
func Spread() Policy { return spread{} }

func (spread) Name() string { return PolicySpread }

func (spread) Evaluate(n *Node, r *Request) Placement {
	if r.IsUnits() {
		return Placement{Score: 1 - unitsUsedAfter(n, r)}
	}
	if r.Cards == 0 {
		return Placement{Score: 1 - cpuUsedAfter(n, r)}
	}
	set := pickCards(n, r, loosest)
	return Placement{Score: 1 - gpuUsedAfter(n, r), Cards: set}
}

type bestFit struct{}

// BestFit is the ATC '23 paper simulator's BestFit: a node scores
// ⌊100·(1 - (½·CPU left/128 cores + ½·GPU left/8 cards))⌋ once the request
// is placed (the tightest fit in CPU and GPU together, the figures being
// the paper's largest node), higher is better; on a node, a share goes to
// the tightest card (the first among equals) and whole cards to the first
// idle ones. A node whose CPU is not tracked counts no CPU left.
func BestFit() Policy { return bestFit{} }

func (bestFit) Name() string { return PolicyBestFit }

// The paper simulator's normalisers of BestFit: its largest node.
const (
	bestFitMaxCPU = 128000
	bestFitMaxGPU = 8000
)

func (bestFit) Evaluate(n *Node, r *Request) Placement {
	if r.IsUnits() {
		return Placement{Score: unitsUsedAfter(n, r)}
	}
	var set CardSet
	if r.Cards > 0 {
		set = pickCards(n, r, tightest)
	}
	gpuLeft := float64(n.GPUMilli() - n.UsedGPUMilli() - r.GPUMilli())
	var cpuLeft float64
	if n.CPUMilli > 0 {
		cpuLeft = float64(n.FreeCPUMilli() - r.CPUMilli)
	}
	left := 0.5*cpuLeft/bestFitMaxCPU + 0.5*gpuLeft/bestFitMaxGPU
	return Placement{Score: math.Trunc((1 - left) * 100), Cards: set}
}

// gpuUsedAfter is the node's allocated GPU share once r is placed.
func gpuUsedAfter(n *Node, r *Request) float64 {
	total := n.GPUMilli()
	if total == 0 {
		return 0
	}
	return float64(n.UsedGPUMilli()+r.GPUMilli()) / float64(total)
}

// cpuUsedAfter is the node's allocated CPU share once r is placed (0 when
// CPU is not tracked).
func cpuUsedAfter(n *Node, r *Request) float64 {
	if n.CPUMilli <= 0 {
		return 0
	}
	return float64(n.UsedCPUMilli+r.CPUMilli) / float64(n.CPUMilli)
}

// cardOrder decides which of two candidate cards for a share is better.
type cardOrder uint8

const (
	tightest cardOrder = iota // the card with the least free cores
	loosest                   // the card with the most free cores
)

// pickCards chooses the cards for r on n (which fits r): for a share the
// tightest or loosest fitting card, for whole cards the first idle cards of
// one allowed type (the type with the fewest idle cards that suffice, so
// that larger groups stay whole).
func pickCards(n *Node, r *Request, o cardOrder) CardSet {
	if !r.IsShare() {
		return pickIdle(n, r, nil)
	}
	best := -1
	var bestFree int64
	for i := range shareCards(n, r) {
		f := n.Cards[i].FreeMilli()
		if best < 0 || (o == tightest && f < bestFree) || (o == loosest && f > bestFree) {
			best, bestFree = i, f
		}
	}
	return CardSet(0).With(best)
}

// pickIdle chooses r.Cards idle cards of one allowed type: the type with
// the fewest idle cards that suffice (larger groups stay whole), and within
// it lower cost first (cost nil: lower position first).
func pickIdle(n *Node, r *Request, cost func(i int) float64) CardSet {
	typ := ""
	bestIdle := -1
	for i := range n.Cards {
		t := n.Cards[i].Type
		if !r.allows(t) || typeSeenBefore(n, i) {
			continue
		}
		if k := idleOfType(n, t); k >= r.Cards && (bestIdle < 0 || k < bestIdle) {
			typ, bestIdle = t, k
		}
	}
	if bestIdle < 0 {
		return 0
	}
	return pickIdleOfType(n, r.Cards, typ, cost)
}
