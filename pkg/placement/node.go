package placement

import (
	"errors"
	"fmt"
)

// MilliPerCard is a whole card in milli: a share asks for less, a whole card
// takes all of it.
const MilliPerCard = 1000

// MaxCards is the most cards one node may carry: card sets are bit masks.
const MaxCards = 64

// ErrInvalidNode marks a node that cannot be placed on (too many cards,
// allocations beyond a card).
var ErrInvalidNode = errors.New("invalid node")

// ErrNoFit marks a request that does not fit the node or the cards given.
var ErrNoFit = errors.New("does not fit")

// CardLoad is what a card really does, as measured (DCGM), independent of
// what is allocated on it.
type CardLoad struct {
	// Utilization is the busy fraction of the card, 0..1.
	Utilization float64
	// MemoryUsedMiB is the card memory in use.
	MemoryUsedMiB int64
}

// Card is one physical GPU of a node and what is allocated on it.
type Card struct {
	// Index is the device index on the node (what the container runtime and
	// the vGPU manager call the card).
	Index int
	UUID  string
	// Type is the catalog type of the card ("V100", "T4", a trace model).
	Type string
	// MemoryMiB is the card memory; 0 when unknown, and then card memory is
	// not checked for shares.
	MemoryMiB int64
	// UsedMilli is the allocated part of the card's cores, 0..1000.
	UsedMilli int64
	// UsedMemoryMiB is the allocated card memory.
	UsedMemoryMiB int64
	// Load is the measured load; read only when Node.LoadFresh.
	Load CardLoad
	// Slots is the most tasks the card may hold (HAMi's split count); 0
	// means no limit. UsedSlots counts the tasks on it.
	Slots, UsedSlots int
}

// FreeMilli is the unallocated part of the card's cores.
func (c *Card) FreeMilli() int64 { return MilliPerCard - c.UsedMilli }

// FreeMemoryMiB is the unallocated card memory (0 when the memory is unknown).
func (c *Card) FreeMemoryMiB() int64 { return c.MemoryMiB - c.UsedMemoryMiB }

// Idle tells whether nothing at all is allocated on the card, so that it can
// be handed out whole.
func (c *Card) Idle() bool { return c.UsedMilli == 0 && c.UsedMemoryMiB == 0 }

// Node is a machine's GPUs, host resources and what is allocated on them.
type Node struct {
	Name  string
	Cards []Card
	// WholeCards: the node hands out whole cards through the device plugin
	// (requests with VGPU false).
	WholeCards bool
	// VGPU: the node hands out shares and virtual cards through the vGPU
	// manager (requests with VGPU true, and every share).
	VGPU bool
	// CPUMilli and MemoryMiB are the allocatable host resources; 0 means not
	// tracked here (another component checks them) and never a shortfall.
	CPUMilli  int64
	MemoryMiB int64
	// UsedCPUMilli and UsedMemoryMiB are the host resources already allocated.
	UsedCPUMilli  int64
	UsedMemoryMiB int64
	// LoadFresh tells that Cards[i].Load is recent enough to act on.
	LoadFresh bool
	// Sharing is the backend of the node's shares and virtual cards
	// (meaningful with VGPU): a request through another backend does not
	// fit.
	Sharing Sharing
	// Units are the pools of units the node hands out by count (MIG
	// instances per profile, time-slicing replicas).
	Units []Units
}

// Validate checks the node's own consistency.
func (n *Node) Validate() error {
	if len(n.Cards) > MaxCards {
		return fmt.Errorf("%w: node %q has %d cards, at most %d are supported", ErrInvalidNode, n.Name, len(n.Cards), MaxCards)
	}
	for i := range n.Cards {
		c := &n.Cards[i]
		if c.UsedMilli < 0 || c.UsedMilli > MilliPerCard {
			return fmt.Errorf("%w: node %q card %d has %d milli allocated, want 0..%d", ErrInvalidNode, n.Name, c.Index, c.UsedMilli, MilliPerCard)
		}
		if c.UsedMemoryMiB < 0 || (c.MemoryMiB > 0 && c.UsedMemoryMiB > c.MemoryMiB) {
			return fmt.Errorf("%w: node %q card %d has %d MiB allocated of %d MiB", ErrInvalidNode, n.Name, c.Index, c.UsedMemoryMiB, c.MemoryMiB)
		}
		if c.Slots < 0 || c.UsedSlots < 0 || (c.Slots > 0 && c.UsedSlots > c.Slots) {
			return fmt.Errorf("%w: node %q card %d holds %d tasks of %d", ErrInvalidNode, n.Name, c.Index, c.UsedSlots, c.Slots)
		}
	}
	for i := range n.Units {
		u := &n.Units[i]
		if u.Name == "" || u.Total < 0 || u.Used < 0 || u.Used > u.Total {
			return fmt.Errorf("%w: node %q: units %q: %d used of %d", ErrInvalidNode, n.Name, u.Name, u.Used, u.Total)
		}
	}
	return nil
}

// FreeCPUMilli is the unallocated CPU (meaningful when CPUMilli > 0).
func (n *Node) FreeCPUMilli() int64 { return n.CPUMilli - n.UsedCPUMilli }

// FreeMemoryMiB is the unallocated host memory (meaningful when MemoryMiB > 0).
func (n *Node) FreeMemoryMiB() int64 { return n.MemoryMiB - n.UsedMemoryMiB }

// GPUMilli is the node's total GPU capacity in milli.
func (n *Node) GPUMilli() int64 { return int64(len(n.Cards)) * MilliPerCard }

// UsedGPUMilli is the allocated GPU capacity in milli.
func (n *Node) UsedGPUMilli() int64 {
	var used int64
	for i := range n.Cards {
		used += n.Cards[i].UsedMilli
	}
	return used
}

// Position returns where the card with device index idx sits in Cards, or -1.
func (n *Node) Position(idx int) int {
	for i := range n.Cards {
		if n.Cards[i].Index == idx {
			return i
		}
	}
	return -1
}

// Assign books r on the node, on the cards of set. It refuses, changing
// nothing, when r does not fit those cards.
func (n *Node) Assign(r *Request, set CardSet) error {
	if err := n.checkCards(r, set); err != nil {
		return err
	}
	n.book(r, set, 1)
	return nil
}

// Unassign gives back what Assign booked for r on the cards of set.
func (n *Node) Unassign(r *Request, set CardSet) error {
	if r.IsUnits() {
		if u := n.unitsOf(r.Unit); u == nil || u.Used < int64(r.Cards) {
			return fmt.Errorf("%w: node %q holds fewer %s than %s", ErrNoFit, n.Name, r.Unit, r)
		}
		n.book(r, 0, -1)
		return nil
	}
	if set.Len() != r.Cards || (r.Cards > 0 && set.Max() >= len(n.Cards)) {
		return fmt.Errorf("%w: card set %v of node %q does not match %s", ErrNoFit, set, n.Name, r)
	}
	for i := range n.Cards {
		if !set.Has(i) {
			continue
		}
		c := &n.Cards[i]
		if c.UsedMilli < r.Milli || c.UsedMemoryMiB < r.CardMemoryMiB || (c.Slots > 0 && c.UsedSlots < 1) {
			return fmt.Errorf("%w: node %q card %d holds less than %s", ErrNoFit, n.Name, c.Index, r)
		}
	}
	n.book(r, set, -1)
	return nil
}

func (n *Node) book(r *Request, set CardSet, sign int64) {
	if r.IsUnits() {
		n.unitsOf(r.Unit).Used += sign * int64(r.Cards)
	}
	for i := range n.Cards {
		if set.Has(i) {
			n.Cards[i].UsedMilli += sign * r.Milli
			n.Cards[i].UsedMemoryMiB += sign * r.CardMemoryMiB
			n.Cards[i].UsedSlots += int(sign)
		}
	}
	n.UsedCPUMilli += sign * r.CPUMilli
	n.UsedMemoryMiB += sign * r.MemoryMiB
}

// checkCards tells whether r fits the node on exactly the cards of set.
func (n *Node) checkCards(r *Request, set CardSet) error {
	if v := Check(n, r); !v.OK() {
		return fmt.Errorf("%w: %s", ErrNoFit, v.Reason())
	}
	if r.IsUnits() {
		if set != 0 {
			return fmt.Errorf("%w: node %q: %s takes units, not cards (got card set %v)", ErrNoFit, n.Name, r, set)
		}
		return nil
	}
	if set.Len() != r.Cards || (r.Cards > 0 && set.Max() >= len(n.Cards)) {
		return fmt.Errorf("%w: node %q: %s needs %d cards, got card set %v", ErrNoFit, n.Name, r, r.Cards, set)
	}
	typ := ""
	for i := range n.Cards {
		if !set.Has(i) {
			continue
		}
		c := &n.Cards[i]
		if !r.allows(c.Type) {
			return fmt.Errorf("%w: node %q card %d is a %s, %s", ErrNoFit, n.Name, c.Index, c.Type, r)
		}
		if typ != "" && c.Type != typ {
			return fmt.Errorf("%w: node %q: the cards of one request must be of one type, got %s and %s", ErrNoFit, n.Name, typ, c.Type)
		}
		typ = c.Type
		if r.IsShare() {
			if !shareFits(c, r) {
				return fmt.Errorf("%w: node %q card %d has %d milli, %d MiB and %d of %d task slots free, %s", ErrNoFit, n.Name, c.Index, c.FreeMilli(), c.FreeMemoryMiB(), c.Slots-c.UsedSlots, c.Slots, r)
			}
		} else if !c.Idle() {
			return fmt.Errorf("%w: node %q card %d is not idle, %s", ErrNoFit, n.Name, c.Index, r)
		}
	}
	return nil
}

func shareFits(c *Card, r *Request) bool {
	if c.FreeMilli() < r.Milli || !slotFree(c) {
		return false
	}
	// A card of unknown memory is not memory-checked: there is nothing to check against.
	return r.CardMemoryMiB == 0 || c.MemoryMiB == 0 || c.FreeMemoryMiB() >= r.CardMemoryMiB
}
