package placement

import (
	"fmt"
	"strings"
)

// Shortfall is why a request does not fit a node.
type Shortfall uint8

// The shortfalls, in the order Check looks for them.
const (
	// Fits: no shortfall.
	Fits Shortfall = iota
	// ShortService: the node does not hand out cards the way the request
	// needs them (vGPU manager or device plugin).
	ShortService
	// ShortNoGPU: the node has no cards.
	ShortNoGPU
	// ShortType: no card of an allowed type.
	ShortType
	// ShortCards: fewer idle cards of one allowed type than asked.
	ShortCards
	// ShortShare: no single card with the free cores and memory of the share.
	ShortShare
	// ShortCPU: not enough free CPU.
	ShortCPU
	// ShortMemory: not enough free host memory.
	ShortMemory
	// ShortNoUnits: the node has no units of the pool the request names.
	ShortNoUnits
	// ShortUnits: fewer free units of the pool than asked.
	ShortUnits
	// ShortSlots: the cards that have the cores and memory of the share
	// hold as many tasks as they may already (HAMi's split count).
	ShortSlots
)

// Verdict is the outcome of Check. It refers to the node's name and the
// request, which must outlive it for Reason.
type Verdict struct {
	Short Shortfall
	node  string
	req   *Request
	typ   string // the node's card type the numbers are about
	have  int64
	have2 int64
}

// OK tells whether the request fits.
func (v Verdict) OK() bool { return v.Short == Fits }

// Reason says, for a user, why the request does not fit: it names the node
// and the shortfall ("node-7: 1 free V100, pod needs 2"). Empty when it fits.
func (v Verdict) Reason() string {
	r := v.req
	switch v.Short {
	case ShortService:
		if r.UsesVGPU() {
			return fmt.Sprintf("%s: does not serve %s, pod needs %s", v.node, r.Sharing.shareNoun(), r)
		}
		return fmt.Sprintf("%s: does not hand out whole cards, pod needs %s", v.node, r)
	case ShortNoGPU:
		return fmt.Sprintf("%s: has no GPU, pod needs %s", v.node, r)
	case ShortType:
		return fmt.Sprintf("%s: has %s cards, pod needs %s", v.node, v.typ, strings.Join(r.Types, " or "))
	case ShortCards:
		return fmt.Sprintf("%s: %d free %s, pod needs %d", v.node, v.have, v.typ, r.Cards)
	case ShortShare:
		mem := ""
		if r.CardMemoryMiB > 0 {
			mem = fmt.Sprintf(" and %d MiB", r.CardMemoryMiB)
		}
		return fmt.Sprintf("%s: no %s card with %d milli%s free (the freest has %d milli, %d MiB), pod needs %s",
			v.node, v.typ, r.Milli, mem, v.have, v.have2, r)
	case ShortCPU:
		return fmt.Sprintf("%s: %d CPU milli free, pod needs %d", v.node, v.have, r.CPUMilli)
	case ShortMemory:
		return fmt.Sprintf("%s: %d MiB memory free, pod needs %d", v.node, v.have, r.MemoryMiB)
	case ShortNoUnits:
		return fmt.Sprintf("%s: has no %s, pod needs %s", v.node, r.Unit, r)
	case ShortUnits:
		return fmt.Sprintf("%s: %d free %s, pod needs %d", v.node, v.have, r.Unit, r.Cards)
	case ShortSlots:
		return fmt.Sprintf("%s: every %s card with %d milli free already holds as many tasks as it may (%d), pod needs %s",
			v.node, v.typ, r.Milli, v.have, r)
	}
	return ""
}

// Fit tells whether r fits n and, when not, why (see Verdict.Reason).
func Fit(n *Node, r *Request) (bool, string) {
	v := Check(n, r)
	return v.OK(), v.Reason()
}

// Check tells whether r fits n: a node that serves the request's path, the
// cards (whole: enough idle cards of one allowed type; share: one card of an
// allowed type with the free cores and card memory), then CPU and memory.
// It does not allocate. The request is assumed valid (Request.Validate).
func Check(n *Node, r *Request) Verdict {
	return check(n, nil, r)
}

// Summary is what Check reads of a node's cards for whole cards, summed
// up once for a node that is checked against many requests without
// changing (the extender's snapshots): with it a request for whole cards
// is decided without reading the cards, which at thousands of nodes per
// request are most of the memory a check touches. Summarize makes it.
type Summary struct {
	// Type is the type of every card; "" when the node has no cards or
	// cards of more than one type, and the cards are read.
	Type string
	// Idle counts the idle cards.
	Idle int
}

// Summarize sums up n's cards for CheckSummarized.
func Summarize(n *Node) Summary {
	if len(n.Cards) == 0 {
		return Summary{}
	}
	s := Summary{Type: n.Cards[0].Type}
	for i := range n.Cards {
		c := &n.Cards[i]
		if c.Type != s.Type {
			return Summary{}
		}
		if c.Idle() {
			s.Idle++
		}
	}
	return s
}

// CheckSummarized is Check for a node whose cards sum is Summarize(n):
// the same verdict, read from the summary where it can be. A sum of other
// cards gives another node's verdict.
func CheckSummarized(n *Node, sum *Summary, r *Request) Verdict {
	return check(n, sum, r)
}

// check is Check with, when not nil, n's summary.
func check(n *Node, sum *Summary, r *Request) Verdict {
	v := Verdict{node: n.Name, req: r}
	if r.IsUnits() {
		if checkUnits(n, r, &v); v.Short != Fits {
			return v
		}
	} else if r.Cards > 0 {
		if r.UsesVGPU() && (!n.VGPU || n.Sharing != r.Sharing) || !r.UsesVGPU() && !n.WholeCards {
			v.Short = ShortService
			return v
		}
		if len(n.Cards) == 0 {
			v.Short = ShortNoGPU
			return v
		}
		switch {
		case r.IsShare():
			checkShare(n, r, &v)
		case sum != nil && sum.Type != "":
			checkUniform(sum.Type, sum.Idle, r, &v)
		default:
			checkWhole(n, r, &v)
		}
		if v.Short != Fits {
			return v
		}
	}
	if n.CPUMilli > 0 && r.CPUMilli > n.FreeCPUMilli() {
		v.Short, v.have = ShortCPU, n.FreeCPUMilli()
		return v
	}
	if n.MemoryMiB > 0 && r.MemoryMiB > n.FreeMemoryMiB() {
		v.Short, v.have = ShortMemory, n.FreeMemoryMiB()
	}
	return v
}

func checkShare(n *Node, r *Request, v *Verdict) {
	allowed := false
	slotsOnly, slotType, slots := false, "", 0
	v.have = -1
	for i := range n.Cards {
		c := &n.Cards[i]
		if !r.allows(c.Type) {
			continue
		}
		if shareFits(c, r) {
			return
		}
		if !slotFree(c) && !slotsOnly {
			probe := *c
			probe.Slots = 0
			if shareFits(&probe, r) {
				slotsOnly, slotType, slots = true, c.Type, c.Slots
			}
		}
		if !allowed || c.FreeMilli() > v.have {
			v.typ, v.have, v.have2 = c.Type, c.FreeMilli(), c.FreeMemoryMiB()
		}
		allowed = true
	}
	if !allowed {
		v.Short, v.typ = ShortType, cardTypes(n)
		return
	}
	if slotsOnly {
		// a card would fit but for its task slots: that is the news
		v.Short, v.typ, v.have = ShortSlots, slotType, int64(slots)
		return
	}
	v.Short = ShortShare
}

func checkWhole(n *Node, r *Request, v *Verdict) {
	first := n.Cards[0].Type
	uniform := true
	idle := 0
	for i := range n.Cards {
		c := &n.Cards[i]
		if c.Type != first {
			uniform = false
		}
		if c.Idle() {
			idle++
		}
	}
	if uniform {
		checkUniform(first, idle, r, v)
		return
	}
	best, bestType, allowed := -1, "", false
	for i := range n.Cards {
		t := n.Cards[i].Type
		if !r.allows(t) {
			continue
		}
		allowed = true
		if k := idleOfType(n, t); k > best {
			best, bestType = k, t
		}
	}
	switch {
	case !allowed:
		v.Short, v.typ = ShortType, cardTypes(n)
	case best < r.Cards:
		v.Short, v.typ, v.have = ShortCards, bestType, int64(best)
	}
}

// checkUniform is checkWhole on a node whose cards are all of type typ,
// idle of them idle.
func checkUniform(typ string, idle int, r *Request, v *Verdict) {
	switch {
	case !r.allows(typ):
		v.Short, v.typ = ShortType, typ
	case idle < r.Cards:
		v.Short, v.typ, v.have = ShortCards, typ, int64(idle)
	}
}

func idleOfType(n *Node, t string) int {
	k := 0
	for i := range n.Cards {
		if n.Cards[i].Type == t && n.Cards[i].Idle() {
			k++
		}
	}
	return k
}

// cardTypes lists the node's distinct card types for messages ("T4|V100").
func cardTypes(n *Node) string {
	var seen []string
	for i := range n.Cards {
		t := n.Cards[i].Type
		dup := false
		for _, s := range seen {
			dup = dup || s == t
		}
		if !dup {
			seen = append(seen, t)
		}
	}
	return strings.Join(seen, "|")
}
