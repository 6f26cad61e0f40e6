package placement

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrUnresolvable marks a request that would not fit the node even with
// nothing on it: more cards than it has of one allowed type, a card type
// or service it lacks, more host resources than it has. No preemption can
// help there.
var ErrUnresolvable = errors.New("does not fit the node even empty")

// ErrNoVictims marks a request that only pods of equal or higher priority
// stand in the way of: preempting every pod of lower priority would still
// not make it fit.
var ErrNoVictims = errors.New("pods of lower priority do not hold enough")

// Hold is what a pod holds on one card of its node.
type Hold struct {
	// Position is the card's position in Node.Cards.
	Position int
	// Milli is the part of the card's cores: MilliPerCard for a whole card.
	Milli int64
	// MemoryMiB is the card memory (0 for a device-plugin card, which is
	// busy through Milli alone).
	MemoryMiB int64
}

// Holder is one pod holding something on a node, as preemption weighs it.
type Holder struct {
	// ID names the pod to the caller (its UID); placement compares IDs only
	// to break ties, so that the same holders always give the same answer.
	ID string
	// Priority is the pod's priority (kube-scheduler's: higher is more
	// important).
	Priority int32
	// Preferred breaks ties in favour of this holder going (the extender
	// marks the victims kube-scheduler's own dry run proposed, so that the
	// two agree where the cards leave the choice open).
	Preferred bool
	// Cards is what it holds on each card; the node's cards include it.
	Cards []Hold
	// CPUMilli and MemoryMiB are its host resources; the node's used host
	// resources include them.
	CPUMilli  int64
	MemoryMiB int64
}

// MaxVictimSearch bounds how many sets of victims Victims tries before it
// settles for a set that is minimal but maybe not the smallest (see Victims).
const MaxVictimSearch = 1 << 16

// Victims chooses the pods to preempt on node n so that r, asked for by a
// pod of priority prio, fits there. holders are the pods holding something
// on n, and n's cards and host resources include everything they hold
// (what holders do not account for stays). It returns indexes into
// holders, ordered as kube-scheduler orders victims: the highest priority
// first, then by ID.
//
//   - r already fits: no victims, nil error (preempting is not needed).
//   - r would not fit n even with nothing on it: ErrUnresolvable.
//   - Only pods of priority prio or higher are candidates for nothing:
//     only strictly lower priorities may go. When preempting all of them
//     is not enough: ErrNoVictims.
//
// Otherwise, of the sets of lower-priority holders whose removal makes r
// fit under Check (the same fit check as filter and bind), the one chosen
// is the first under these criteria, in order (kube-scheduler weighs its
// candidate nodes in the same order):
//  1. the lowest highest priority among the victims;
//  2. the fewest victims;
//  3. the lowest sum of the victims' priorities;
//  4. the first in the order of holders sorted by priority, then
//     Preferred ones first, then ID (the lexicographically first set of
//     positions in that order).
//
// The set is minimal: no proper subset of it makes r fit (a smaller one
// would come first under criterion 2). Holders that hold no card r could
// use, nor host resources r needs, are never victims: removing them cannot
// help. For whole cards, when the host resources fit already, the search
// is over the choices of r.Cards cards of one type (the minimal sets are
// the holders of the cards chosen), else over sets of holders. When more
// than MaxVictimSearch choices or sets would have to be tried, the
// answer keeps criterion 1 and minimality but not necessarily 2 to 4: it
// is every candidate of priority up to the level of criterion 1, then each
// given a reprieve in turn, highest priority first (kube-scheduler's own
// way), if r still fits without it.
func Victims(n *Node, holders []Holder, r *Request, prio int32) ([]int, error) {
	return victims(n, holders, r, prio, MaxVictimSearch)
}

// victims is Victims with the size of the exhaustive search as a parameter.
func victims(n *Node, holders []Holder, r *Request, prio int32, budget int) ([]int, error) {
	if err := validateHolders(n, holders); err != nil {
		return nil, err
	}
	if r.IsUnits() {
		// holders record cards, not units: which pods hold the pool's
		// units is not modelled, so none is chosen to make room
		return nil, fmt.Errorf("%w: preemption for %s is not modelled", ErrNoFit, r.Unit)
	}
	e := newEvictor(n, holders, r)
	if e.fitsWithout(nil) {
		return nil, nil
	}
	if v := Check(e.empty(), r); !v.OK() {
		return nil, fmt.Errorf("%w: %s", ErrUnresolvable, v.Reason())
	}
	var cand []int
	for i := range holders {
		if holders[i].Priority < prio && e.relevant(&holders[i]) {
			cand = append(cand, i)
		}
	}
	// Lowest priority first, then preferred, then by ID: the order of
	// criteria 1 and 4.
	slices.SortFunc(cand, func(a, b int) int {
		x, y := &holders[a], &holders[b]
		return cmp.Or(cmp.Compare(x.Priority, y.Priority), -cmpBool(x.Preferred, y.Preferred), cmp.Compare(x.ID, y.ID), cmp.Compare(a, b))
	})
	if !e.fitsWithout(cand) {
		e.reset()
		e.remove(cand)
		return nil, fmt.Errorf("%w: with every pod of priority below %d gone, %s", ErrNoVictims, prio, Check(&e.scratch, r).Reason())
	}
	if best, ok := e.byCards(cand, prio, budget); ok {
		return e.ordered(best), nil
	}
	// Criterion 1: the fewest priority levels from the bottom that make r
	// fit. Removing more never hurts (Check only looks at what is free), so
	// the first level that fits is the answer.
	pool := cand
	for end := 0; end < len(cand); {
		next := end + 1
		for next < len(cand) && holders[cand[next]].Priority == holders[cand[end]].Priority {
			next++
		}
		if e.fitsWithout(cand[:next]) {
			pool = cand[:next]
			break
		}
		end = next
	}
	// An upper bound: kube-scheduler's reprieve, highest priority first.
	greedy := slices.Clone(pool)
	for i := len(greedy) - 1; i >= 0; i-- {
		without := slices.Delete(slices.Clone(greedy), i, i+1)
		if e.fitsWithout(without) {
			greedy = without
		}
	}
	best := e.smallest(pool, len(greedy), budget)
	if best == nil {
		best = greedy
	}
	return e.ordered(best), nil
}

// ordered sorts victims as kube-scheduler expects them: the highest
// priority first, then by ID.
func (e *evictor) ordered(set []int) []int {
	out := slices.Clone(set)
	slices.SortFunc(out, func(a, b int) int {
		x, y := &e.holders[a], &e.holders[b]
		return cmp.Or(cmp.Compare(y.Priority, x.Priority), cmp.Compare(x.ID, y.ID), cmp.Compare(a, b))
	})
	return out
}

// byCards is the search for whole cards when the host resources fit
// already: then a set of victims makes r fit exactly when it empties r.Cards
// cards of one allowed type, so the minimal sets are the holders of such
// cards, and trying every choice of cards finds the first set under the
// criteria of Victims without trying sets of holders. cand are the
// candidates in the order of criterion 4. It reports false when it does not
// apply or would try more than budget choices.
func (e *evictor) byCards(cand []int, prio int32, budget int) ([]int, bool) {
	n, r := e.node, e.req
	if r.Cards == 0 || r.IsShare() ||
		n.CPUMilli > 0 && r.CPUMilli > n.FreeCPUMilli() || n.MemoryMiB > 0 && r.MemoryMiB > n.FreeMemoryMiB() {
		return nil, false
	}
	rank := make(map[int]int, len(cand))
	for i, h := range cand {
		rank[h] = i
	}
	// on[p] are the ranks of the holders on card p; blocked[p] tells that a
	// holder that may not go holds it.
	on := make([][]int, len(n.Cards))
	blocked := make([]bool, len(n.Cards))
	for i := range e.holders {
		for _, c := range e.holders[i].Cards {
			if c.Milli == 0 && c.MemoryMiB == 0 {
				continue
			}
			if k, ok := rank[i]; ok {
				on[c.Position] = append(on[c.Position], k)
			} else if e.holders[i].Priority >= prio || r.allows(n.Cards[c.Position].Type) {
				blocked[c.Position] = true
			}
		}
	}
	var best []int // ranks, sorted
	var bestKey cost
	tries := 0
	var types []string
	for i := range n.Cards {
		if t := n.Cards[i].Type; r.allows(t) && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	for _, t := range types {
		var cards []int
		for p := range n.Cards {
			if n.Cards[p].Type == t && !blocked[p] {
				cards = append(cards, p)
			}
		}
		if len(cards) < r.Cards {
			continue
		}
		pos := make([]int, r.Cards)
		for i := range pos {
			pos[i] = i
		}
		for {
			if tries++; tries > budget {
				return nil, false
			}
			var set []int
			for _, i := range pos {
				for _, k := range on[cards[i]] {
					if !slices.Contains(set, k) {
						set = append(set, k)
					}
				}
			}
			slices.Sort(set)
			key := cost{highest: -1 << 31, count: len(set)}
			for _, k := range set {
				key.highest = max(key.highest, e.holders[cand[k]].Priority)
				key.sum += int64(e.holders[cand[k]].Priority)
			}
			if best == nil || key.less(bestKey) || !bestKey.less(key) && slices.Compare(set, best) < 0 {
				best, bestKey = set, key
			}
			i := r.Cards - 1
			for i >= 0 && pos[i] == len(cards)-r.Cards+i {
				i--
			}
			if i < 0 {
				break
			}
			pos[i]++
			for j := i + 1; j < r.Cards; j++ {
				pos[j] = pos[j-1] + 1
			}
		}
	}
	if best == nil {
		return nil, false
	}
	out := make([]int, len(best))
	for i, k := range best {
		out[i] = cand[k]
	}
	return out, true
}

// cost is a set of victims' place under criteria 1 to 3 of Victims.
type cost struct {
	highest int32
	count   int
	sum     int64
}

func (c cost) less(o cost) bool {
	if c.highest != o.highest {
		return c.highest < o.highest
	}
	if c.count != o.count {
		return c.count < o.count
	}
	return c.sum < o.sum
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Resolvable tells whether r would fit n with nothing on it: whether
// freeing cards (preemption) could ever make it fit. False for a node
// without the service or a card type r needs, with fewer cards of one
// allowed type than r asks, without a card of an allowed type with the
// memory of r's share, or with less host CPU or memory than r asks. It does
// not allocate: filter asks it of every refused node.
func Resolvable(n *Node, r *Request) bool {
	return resolvable(n, nil, r)
}

// ResolvableSummarized is Resolvable for a node whose cards sum is
// Summarize(n), reading the summary instead of the cards where it can
// (CheckSummarized).
func ResolvableSummarized(n *Node, sum *Summary, r *Request) bool {
	return resolvable(n, sum, r)
}

// resolvable is Resolvable with, when not nil, n's summary.
func resolvable(n *Node, sum *Summary, r *Request) bool {
	if r.IsUnits() {
		var v Verdict
		if u := n.unitsOf(r.Unit); u == nil || u.Total < int64(r.Cards) {
			return false
		}
		if checkUnits(n, r, &v); v.Short == ShortType {
			return false
		}
	} else if r.Cards > 0 {
		if r.UsesVGPU() && (!n.VGPU || n.Sharing != r.Sharing) || !r.UsesVGPU() && !n.WholeCards || len(n.Cards) == 0 {
			return false
		}
		best := 0
		switch {
		case sum != nil && sum.Type != "" && !r.IsShare():
			// every card of one type: all of them, or none
			if r.allows(sum.Type) {
				best = len(n.Cards)
			}
		default:
			best = mostAllowed(n, r)
		}
		if best < r.Cards {
			return false
		}
	}
	return (n.CPUMilli == 0 || r.CPUMilli <= n.CPUMilli) && (n.MemoryMiB == 0 || r.MemoryMiB <= n.MemoryMiB)
}

// mostAllowed is, for a share, 1 when a card of an allowed type has the
// share's card memory, else 0; for whole cards, the most cards of one
// allowed type.
func mostAllowed(n *Node, r *Request) int {
	best := 0
	for i := range n.Cards {
		c := &n.Cards[i]
		if !r.allows(c.Type) {
			continue
		}
		if r.IsShare() {
			if r.CardMemoryMiB == 0 || c.MemoryMiB == 0 || c.MemoryMiB >= r.CardMemoryMiB {
				return 1
			}
			continue
		}
		k := 0
		for j := range n.Cards {
			if n.Cards[j].Type == c.Type {
				k++
			}
		}
		best = max(best, k)
	}
	return best
}

// validateHolders refuses holdings that do not name a card of n or hold a
// negative amount.
func validateHolders(n *Node, holders []Holder) error {
	if err := n.Validate(); err != nil {
		return err
	}
	for i := range holders {
		h := &holders[i]
		if h.CPUMilli < 0 || h.MemoryMiB < 0 {
			return fmt.Errorf("%w: holder %q holds negative host resources", ErrInvalidNode, h.ID)
		}
		for _, c := range h.Cards {
			if c.Position < 0 || c.Position >= len(n.Cards) || c.Milli < 0 || c.MemoryMiB < 0 {
				return fmt.Errorf("%w: holder %q holds %d milli and %d MiB of card position %d; node %q has %d cards",
					ErrInvalidNode, h.ID, c.Milli, c.MemoryMiB, c.Position, n.Name, len(n.Cards))
			}
		}
	}
	return nil
}

// smallest searches the sets of up to most holders of pool (sorted by
// priority, then ID) for the first under criteria 2 to 4 that makes the
// request fit. It gives up, returning nil, after budget tries.
func (e *evictor) smallest(pool []int, most, budget int) []int {
	var best []int
	var bestSum int64
	tries := 0
	set := make([]int, 0, most)
	for k := 1; k <= most && best == nil; k++ {
		// Every k-subset of pool, by positions pos[0] < ... < pos[k-1].
		pos := make([]int, k)
		for i := range pos {
			pos[i] = i
		}
		for {
			if tries++; tries > budget {
				return nil
			}
			set = set[:0]
			var sum int64
			for _, p := range pos {
				set = append(set, pool[p])
				sum += int64(e.holders[pool[p]].Priority)
			}
			if (best == nil || sum < bestSum) && e.fitsWithout(set) {
				best, bestSum = slices.Clone(set), sum
			}
			// The next k-subset in lexicographic order.
			i := k - 1
			for i >= 0 && pos[i] == len(pool)-k+i {
				i--
			}
			if i < 0 {
				break
			}
			pos[i]++
			for j := i + 1; j < k; j++ {
				pos[j] = pos[j-1] + 1
			}
		}
	}
	return best
}

// evictor tries removals of holders on a scratch copy of a node, without
// allocating.
type evictor struct {
	node    *Node
	holders []Holder
	req     *Request
	scratch Node
	cards   []Card
}

func newEvictor(n *Node, holders []Holder, r *Request) *evictor {
	e := &evictor{node: n, holders: holders, req: r, cards: make([]Card, len(n.Cards))}
	e.reset()
	return e
}

// reset makes the scratch node a copy of the node.
func (e *evictor) reset() {
	e.scratch = *e.node
	copy(e.cards, e.node.Cards)
	e.scratch.Cards = e.cards
}

// remove takes what the holders of set hold off the scratch node. Amounts
// never go below zero: a node may account for less than its holders claim.
func (e *evictor) remove(set []int) {
	n := &e.scratch
	for _, i := range set {
		h := &e.holders[i]
		for _, c := range h.Cards {
			card := &n.Cards[c.Position]
			card.UsedMilli = max(0, card.UsedMilli-c.Milli)
			card.UsedMemoryMiB = max(0, card.UsedMemoryMiB-c.MemoryMiB)
			card.UsedSlots = max(0, card.UsedSlots-1) // each hold is one task on its card
		}
		n.UsedCPUMilli = max(0, n.UsedCPUMilli-h.CPUMilli)
		n.UsedMemoryMiB = max(0, n.UsedMemoryMiB-h.MemoryMiB)
	}
}

// fitsWithout tells whether the request fits the node once the holders of
// set are gone.
func (e *evictor) fitsWithout(set []int) bool {
	e.reset()
	e.remove(set)
	return Check(&e.scratch, e.req).OK()
}

// empty returns the scratch node with nothing on it.
func (e *evictor) empty() *Node {
	e.reset()
	for i := range e.scratch.Cards {
		e.scratch.Cards[i].UsedMilli, e.scratch.Cards[i].UsedMemoryMiB, e.scratch.Cards[i].UsedSlots = 0, 0, 0
	}
	e.scratch.UsedCPUMilli, e.scratch.UsedMemoryMiB = 0, 0
	return &e.scratch
}

// relevant tells whether removing h could change whether the request
// fits: it holds a card of a type the request allows, or host resources
// the node tracks and the request asks for. Check reads nothing else.
func (e *evictor) relevant(h *Holder) bool {
	r, n := e.req, e.node
	if r.Cards > 0 {
		for _, c := range h.Cards {
			if (c.Milli > 0 || c.MemoryMiB > 0) && r.allows(n.Cards[c.Position].Type) {
				return true
			}
		}
	}
	return n.CPUMilli > 0 && r.CPUMilli > 0 && h.CPUMilli > 0 ||
		n.MemoryMiB > 0 && r.MemoryMiB > 0 && h.MemoryMiB > 0
}
