package load

import "time"

// CardLoad is what Prometheus last said about one card.
type CardLoad struct {
	// Util is the utilisation in percent, 0..100; meaningful when HasUtil.
	Util    float64
	HasUtil bool
	// MemoryUsedMiB is the framebuffer in use; meaningful when HasMemory.
	MemoryUsedMiB float64
	HasMemory     bool
}

// cardEntry is one card's load with the keys it was reported under. Nodes hold
// a handful of cards, so a slice scanned linearly beats a map in both time and
// memory.
type cardEntry struct {
	index int // -1 when the series had no usable index
	uuid  string
	load  CardLoad
}

// NodeLoad is the load of the cards of one node.
type NodeLoad struct {
	cards []cardEntry
}

// Card returns the load of the card with this UUID when the exporter reported
// UUIDs, else of the card at this index. UUIDs win because indexes can differ
// between NVML and what a container runtime calls a card.
func (n NodeLoad) Card(index int, uuid string) (CardLoad, bool) {
	if uuid != "" {
		for _, c := range n.cards {
			if c.uuid == uuid {
				return c.load, true
			}
		}
	}
	for _, c := range n.cards {
		if c.index == index && index >= 0 {
			return c.load, true
		}
	}
	return CardLoad{}, false
}

// Len returns how many cards of the node have data.
func (n NodeLoad) Len() int { return len(n.cards) }

// Snapshot is one refresh's picture of the cluster. It is never modified after
// it is published, so readers share it without locks.
type Snapshot struct {
	// At is when the refresh that made it finished.
	At    time.Time
	nodes map[string]NodeLoad
}

// Node returns the load of the named node's cards.
func (s *Snapshot) Node(name string) (NodeLoad, bool) {
	if s == nil {
		return NodeLoad{}, false
	}
	n, ok := s.nodes[name]
	return n, ok
}

// Nodes returns how many nodes have data.
func (s *Snapshot) Nodes() int {
	if s == nil {
		return 0
	}
	return len(s.nodes)
}

// Cards returns how many cards have data.
func (s *Snapshot) Cards() int {
	if s == nil {
		return 0
	}
	total := 0
	for _, n := range s.nodes {
		total += len(n.cards)
	}
	return total
}

// snapshotBuilder merges the samples of several series into one Snapshot.
type snapshotBuilder struct {
	nodes map[string]NodeLoad
}

func newSnapshotBuilder() *snapshotBuilder {
	return &snapshotBuilder{nodes: make(map[string]NodeLoad)}
}

// card returns the entry for (node, index, uuid), creating it when new.
func (b *snapshotBuilder) card(node string, index int, uuid string) *CardLoad {
	n := b.nodes[node]
	for i := range n.cards {
		c := &n.cards[i]
		if (uuid != "" && c.uuid == uuid) || (uuid == "" && c.uuid == "" && c.index == index) {
			return &c.load
		}
	}
	n.cards = append(n.cards, cardEntry{index: index, uuid: uuid})
	b.nodes[node] = n
	return &b.nodes[node].cards[len(n.cards)-1].load
}

func (b *snapshotBuilder) build(at time.Time) *Snapshot {
	return &Snapshot{At: at, nodes: b.nodes}
}

// CardSample is one card's load, for building a Snapshot by hand.
type CardSample struct {
	Node  string
	Index int
	UUID  string
	Load  CardLoad
}

// NewSnapshot returns a snapshot taken at at holding the given cards: what
// a program without Prometheus, or a test, hands to code that reads load.
func NewSnapshot(at time.Time, cards ...CardSample) *Snapshot {
	b := newSnapshotBuilder()
	for _, c := range cards {
		*b.card(c.Node, c.Index, c.UUID) = c.Load
	}
	return b.build(at)
}
