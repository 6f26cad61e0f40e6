package cache

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// NodeSnapshot is one node as filter, prioritize and bind see it: its cards
// with everything allocated on them at one instant. It is immutable once
// published, so readers share it without locks; they read it through its
// methods.
//
// What filtering a node reads comes first (the node, err, wholeResource,
// summary, key, shape), so that at thousands of nodes per request a check
// touches the fewest cache lines of each.
type NodeSnapshot struct {
	node placement.Node
	// err says why nothing may be placed on the node: unknown to the
	// extender, or its devices annotation is corrupt.
	err error
	// wholeResource is info's, kept here so that checking a node reads
	// one allocation.
	wholeResource corev1.ResourceName
	// summary is placement.Summarize of node: a request for whole cards is
	// checked without reading the cards.
	summary placement.Summary
	// key is placement.StateKey of node, hashed once for every request
	// scored on the snapshot.
	key uint64
	// shape summarises the cards for reusing work across alike nodes.
	shape Shape
	info  *nodeInfo
	// pods is how many pods (bound and assumed) hold something here.
	pods int
	// inline holds the cards of a node of up to inlineCards cards in the
	// snapshot's own allocation: filter walks thousands of snapshots per
	// request, and one allocation per node is one cache miss fewer.
	inline [inlineCards]placement.Card
	// overbooked lists bookings that did not fit the cards: what the
	// cluster really runs exceeds the cards (which the extender never
	// causes). Shown in /state and logged.
	overbooked []string
	// booked, when set while the snapshot is built, is told each card
	// booking: the record, the card's position and what it takes there.
	booked func(rec *podRecord, pos int, milli, memMiB int64)
}

// Node is the node with everything allocated on its cards. Callers do
// not change it: it is shared.
func (s *NodeSnapshot) Node() *placement.Node { return &s.node }

// Err says why nothing may be placed on the node: unknown to the
// extender, or its devices annotation is corrupt; nil when the node is
// usable.
func (s *NodeSnapshot) Err() error { return s.err }

// WholeResource is the device-plugin resource the node advertises, if
// any: whole cards of other vendors' resources are not served here.
func (s *NodeSnapshot) WholeResource() corev1.ResourceName { return s.wholeResource }

// Shape summarises the cards, for reusing work across alike nodes.
func (s *NodeSnapshot) Shape() *Shape { return &s.shape }

// Warm reads a word of each cache line that filtering the node reads
// first, and returns their sum: a caller about to check many snapshots
// reads them ahead.
func (s *NodeSnapshot) Warm() int {
	return len(s.node.Cards) + int(s.node.UsedMemoryMiB) + s.summary.Idle + int(s.shape.FreeMilli)
}

// Summary is placement.Summarize(s.Node()), computed when s was built.
func (s *NodeSnapshot) Summary() *placement.Summary { return &s.summary }

// StateKey is placement.StateKey(s.Node()), computed when s was built.
func (s *NodeSnapshot) StateKey() uint64 { return s.key }

// Pods is how many pods (bound and assumed) hold something on the node.
func (s *NodeSnapshot) Pods() int { return s.pods }

// Overbooked lists bookings that did not fit the cards.
func (s *NodeSnapshot) Overbooked() []string { return s.overbooked }

// WithNode returns a copy of s that shows n instead of its node (the same
// node with its cards' measured load, say).
func (s *NodeSnapshot) WithNode(n placement.Node) *NodeSnapshot {
	c := *s
	c.node = n
	c.key, c.summary = placement.StateKey(&c.node), placement.Summarize(&c.node)
	return &c
}

// inlineCards is the most cards a snapshot holds inline: the common GPU
// server has 8.
const inlineCards = 8

// buildSnapshot books every live record of a node on a copy of its cards:
// the assignments first (they name their cards), then device-plugin cards on
// idle cards, then vGPU requests without an assignment on the first cards
// that hold them.
func buildSnapshot(name string, info *nodeInfo, pods map[types.UID]*podRecord, now time.Time) *NodeSnapshot {
	return buildSnapshotTold(name, info, pods, now, nil)
}

// buildSnapshotTold is buildSnapshot telling booked (when not nil) where
// each record is booked, card by card.
func buildSnapshotTold(name string, info *nodeInfo, pods map[types.UID]*podRecord, now time.Time,
	booked func(rec *podRecord, pos int, milli, memMiB int64)) *NodeSnapshot {
	s := &NodeSnapshot{info: info, booked: booked}
	defer func() { s.booked = nil }()
	n := &s.node
	n.Name = name
	if info == nil {
		s.err = fmt.Errorf("%s: no such node known to the extender (yet)", name)
	} else {
		s.err = info.err
		s.wholeResource = info.wholeResource
		if len(info.cards) <= inlineCards {
			n.Cards = s.inline[:len(info.cards):len(info.cards)]
			copy(n.Cards, info.cards)
		} else {
			n.Cards = slices.Clone(info.cards)
		}
		n.WholeCards, n.VGPU = info.wholeCards, info.vgpu
		n.CPUMilli, n.MemoryMiB = info.cpuMilli, info.memMiB
		n.Sharing = info.sharing
		if len(info.units) > 0 {
			n.Units = slices.Clone(info.units)
		}
	}
	var whole, floating []*podRecord
	for _, rec := range pods {
		if rec.expired(now) {
			continue
		}
		s.pods++
		n.UsedCPUMilli += rec.cpuMilli
		n.UsedMemoryMiB += rec.memMiB
		for _, sh := range rec.shares {
			s.bookShare(rec, sh)
		}
		for _, u := range rec.units {
			s.bookUnits(rec, u)
		}
		if rec.whole > 0 {
			whole = append(whole, rec)
		}
		if len(rec.floating) > 0 {
			floating = append(floating, rec)
		}
	}
	// The narrowest type constraints first, then by pod, so that the same
	// records always book the same cards.
	slices.SortFunc(whole, func(a, b *podRecord) int {
		return cmp.Or(cmp.Compare(s.allowedTypes(a.wholeTypes), s.allowedTypes(b.wholeTypes)), cmp.Compare(a.uid, b.uid))
	})
	for _, rec := range whole {
		if !s.bookIdle(rec, rec.whole, rec.wholeTypes) {
			s.overbooked = append(s.overbooked, fmt.Sprintf("%s holds %d whole cards but fewer idle cards of one allowed type are left", rec.key, rec.whole))
		}
	}
	slices.SortFunc(floating, func(a, b *podRecord) int { return cmp.Compare(a.uid, b.uid) })
	for _, rec := range floating {
		for i := range rec.floating {
			r := &rec.floating[i]
			ok := false
			if r.IsShare() {
				ok = s.bookFirstShare(rec, r)
			} else {
				ok = s.bookIdle(rec, r.Cards, r.Types)
			}
			if !ok {
				s.overbooked = append(s.overbooked, fmt.Sprintf("%s holds %s without an assignment and no cards are left for it", rec.key, r))
			}
		}
	}
	s.shape = ShapeOf(n)
	s.key, s.summary = placement.StateKey(n), placement.Summarize(n)
	return s
}

func (s *NodeSnapshot) bookShare(rec *podRecord, sh CardShare) {
	n := &s.node
	p := n.Position(sh.Index)
	if sh.UUID != "" {
		p = positionOfUUID(n, sh.UUID)
	}
	if p < 0 {
		card := fmt.Sprint(sh.Index)
		if sh.UUID != "" {
			card = sh.UUID
		}
		s.overbooked = append(s.overbooked, fmt.Sprintf("%s holds card %s, which the node does not have (or not for sharing)", rec.key, card))
		return
	}
	c := &n.Cards[p]
	c.UsedMilli += sh.Milli
	c.UsedMemoryMiB += sh.MemoryMiB
	c.UsedSlots++
	if c.Slots > 0 && c.UsedSlots > c.Slots {
		s.overbooked = append(s.overbooked, fmt.Sprintf("%s is task %d on card %d, which takes %d", rec.key, c.UsedSlots, c.Index, c.Slots))
		c.UsedSlots = c.Slots
	}
	s.tell(rec, p, sh.Milli, sh.MemoryMiB)
	if c.UsedMilli > placement.MilliPerCard || (c.MemoryMiB > 0 && c.UsedMemoryMiB > c.MemoryMiB) {
		s.overbooked = append(s.overbooked, fmt.Sprintf("%s takes card %d beyond its capacity", rec.key, sh.Index))
		c.UsedMilli = min(c.UsedMilli, placement.MilliPerCard)
		if c.MemoryMiB > 0 {
			c.UsedMemoryMiB = min(c.UsedMemoryMiB, c.MemoryMiB)
		}
	}
}

// allowedTypes counts the node's cards a type constraint admits: fewer
// means fewer choices, booked first.
func (s *NodeSnapshot) allowedTypes(types []string) int {
	k := 0
	for i := range s.node.Cards {
		if len(types) == 0 || slices.Contains(types, s.node.Cards[i].Type) {
			k++
		}
	}
	return k
}

// bookIdle marks k idle cards of one allowed type as fully used, the type
// with the most idle cards first; when no type has k, as many as there are,
// and reports false.
func (s *NodeSnapshot) bookIdle(rec *podRecord, k int, types []string) bool {
	cards := s.node.Cards
	best, bestIdle := "", -1
	for i := range cards {
		t := cards[i].Type
		if len(types) > 0 && !slices.Contains(types, t) {
			continue
		}
		idle := 0
		for j := range cards {
			if cards[j].Type == t && cards[j].Idle() {
				idle++
			}
		}
		if idle > bestIdle {
			best, bestIdle = t, idle
		}
	}
	if bestIdle < 0 {
		return false
	}
	left := k
	for i := range cards {
		if left > 0 && cards[i].Type == best && cards[i].Idle() {
			cards[i].UsedMilli = placement.MilliPerCard
			s.tell(rec, i, placement.MilliPerCard, 0)
			left--
		}
	}
	return left == 0
}

// bookFirstShare books a share on the first allowed card that holds it.
func (s *NodeSnapshot) bookFirstShare(rec *podRecord, r *placement.Request) bool {
	cards := s.node.Cards
	for i := range cards {
		c := &cards[i]
		if len(r.Types) > 0 && !slices.Contains(r.Types, c.Type) {
			continue
		}
		if c.FreeMilli() >= r.Milli && (c.MemoryMiB == 0 || c.FreeMemoryMiB() >= r.CardMemoryMiB) && (c.Slots == 0 || c.UsedSlots < c.Slots) {
			c.UsedMilli += r.Milli
			c.UsedMemoryMiB += r.CardMemoryMiB
			c.UsedSlots++
			s.tell(rec, i, r.Milli, r.CardMemoryMiB)
			return true
		}
	}
	return false
}

// tell reports a booking to the snapshot's booked, if any.
func (s *NodeSnapshot) tell(rec *podRecord, pos int, milli, memMiB int64) {
	if s.booked != nil {
		s.booked(rec, pos, milli, memMiB)
	}
}
