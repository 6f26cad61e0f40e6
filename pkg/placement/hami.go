package placement

// HAMi's own scheduler policies, written from the behaviour HAMi documents
// for its node-scheduler-policy and gpu-scheduler-policy (binpack or
// spread each; checked against HAMi v2.8.0's scheduler), so that the
// simulator can set gpuplane's policies beside them on one trace. They are
// yardsticks like fgd: gpuplane's extender serves HAMi nodes with its own
// policies.
//
// HAMi scores a node, before placing the pod, by how used its cards are:
// 10 × (tasks held / tasks allowed + cores held / cores + memory held /
// memory), summed over its cards; binpack takes the highest score, spread
// the lowest. On the node it scores each card the same way with the pod's
// request added, and takes the card of highest score under binpack, of
// lowest under spread. Ties go to the card listed last, as HAMi walks its
// sorted list from the end. A term whose capacity is unknown (a card of
// unknown memory, a card without a task limit) counts nothing.

// The HAMi policy names: node policy, then card policy.
const (
	PolicyHAMiBinpackBinpack = "hami-binpack-binpack"
	PolicyHAMiBinpackSpread  = "hami-binpack-spread"
	PolicyHAMiSpreadBinpack  = "hami-spread-binpack"
	PolicyHAMiSpreadSpread   = "hami-spread-spread"
)

// hamiWeight is HAMi's weight of each usage term.
const hamiWeight = 10

type hamiPolicy struct {
	name                   string
	nodeSpread, cardSpread bool
}

// HAMi returns HAMi's policy with the given node and card policies (spread
// when true, binpack when false).
func HAMi(nodeSpread, cardSpread bool) Policy {
	name := "hami-"
	for _, s := range []bool{nodeSpread, cardSpread} {
		if s {
			name += "spread-"
		} else {
			name += "binpack-"
		}
	}
	return hamiPolicy{name: name[:len(name)-1], nodeSpread: nodeSpread, cardSpread: cardSpread}
}

func (p hamiPolicy) Name() string { return p.name }

func (p hamiPolicy) Evaluate(n *Node, r *Request) Placement {
	var score float64
	switch {
	case r.IsUnits():
		score = unitsUsedAfter(n, r)
	case r.Cards == 0:
		score = cpuUsedAfter(n, r)
	default:
		score = hamiNodeScore(n)
	}
	if p.nodeSpread {
		score = -score
	}
	if r.IsUnits() || r.Cards == 0 {
		return Placement{Score: score}
	}
	if !r.IsShare() {
		return Placement{Score: score, Cards: pickIdle(n, r, nil)}
	}
	best, bestScore := -1, 0.0
	for i := range shareCards(n, r) {
		s := hamiCardScore(&n.Cards[i], r)
		if p.cardSpread {
			s = -s
		}
		if best < 0 || s >= bestScore {
			best, bestScore = i, s
		}
	}
	return Placement{Score: score, Cards: CardSet(0).With(best)}
}

// hamiNodeScore is HAMi's usage score of a node before placing.
func hamiNodeScore(n *Node) float64 {
	var used, slots, usedMilli, milli, usedMem, mem int64
	for i := range n.Cards {
		c := &n.Cards[i]
		used += int64(c.UsedSlots)
		slots += int64(c.Slots)
		usedMilli += c.UsedMilli
		milli += MilliPerCard
		usedMem += c.UsedMemoryMiB
		mem += c.MemoryMiB
	}
	return hamiWeight * (ratio(used, slots) + ratio(usedMilli, milli) + ratio(usedMem, mem))
}

// hamiCardScore is HAMi's score of card c with r placed on it.
func hamiCardScore(c *Card, r *Request) float64 {
	return hamiWeight * (ratio(int64(c.UsedSlots)+1, int64(c.Slots)) +
		ratio(c.UsedMilli+r.Milli, MilliPerCard) + ratio(c.UsedMemoryMiB+r.CardMemoryMiB, c.MemoryMiB))
}

// ratio is a/b, 0 when b is not positive (a capacity not known).
func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
