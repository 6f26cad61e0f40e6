package placement

import (
	"math"
	"sync/atomic"
)

// evalCache keeps Evaluate results by node state and request across
// requests. Between two pods only the nodes a pod was bound to change, so
// the extender scores most nodes from it; a miss costs one evaluation. It is
// 4-way set-associative and lossy (a new entry replaces one of its set when
// the set is full), bounded in memory, and lock-free. Keys are 128 bits of hash of everything
// Evaluate reads — the node's cards, allocations, host resources and load,
// never its name; the request; the mix snapshot; the pressure scales — so
// two different inputs share a result only if both 64-bit halves collide.
//
// It pays for itself: BenchmarkFilterPrioritize at 5,000 nodes takes 11 ms
// per pod for a 0.47-card share and 14 ms for a whole card with it, 42 and
// 37 ms scoring every node afresh (auto-cold); through the extender
// (BenchmarkFilterBestHTTP, 5,000 nodes) 8.4 CPU-ms per pod against 14.9.
type evalCache struct {
	slots []cacheSlot
}

// cacheSlot is one entry and a tag of its key beside it: a set's four
// slots are one cache line, and a lookup follows only the pointer whose
// tag matches, where it followed each in turn (a cache miss each, at
// thousands of lookups per request). The tag is a hint: a lookup that
// reads it while a put changes the slot checks the entry's whole key,
// and at worst misses.
type cacheSlot struct {
	tag   atomic.Uint64
	entry atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	node, req uint64
	pl        Placement
}

// cacheSlots is the number of entries: 64k, a few MiB.
const cacheSlots = 1 << 16

func newEvalCache() *evalCache {
	return &evalCache{slots: make([]cacheSlot, cacheSlots)}
}

// mixKeys is the one word a key's set and tag come from.
func mixKeys(node, req uint64) uint64 { return node ^ req*0x9e3779b97f4a7c15 }

// set returns the first of the 4 slots where (node, req) may be.
func set(node, req uint64) uint64 { return mixKeys(node, req) & (cacheSlots - 1) &^ 3 }

// tag is the key's tag, never 0 (an empty slot's).
func tag(node, req uint64) uint64 { return mixKeys(node, req) | 1 }

func (c *evalCache) get(node, req uint64) (Placement, bool) {
	base, t := set(node, req), tag(node, req)
	for i := base; i < base+4; i++ {
		s := &c.slots[i]
		if s.tag.Load() != t {
			continue
		}
		if e := s.entry.Load(); e != nil && e.node == node && e.req == req {
			return e.pl, true
		}
	}
	return Placement{}, false
}

// warm reads the first tag of each node key's set for req, and returns
// their sum (Warmer).
func (c *evalCache) warm(nodes []uint64, req uint64) int {
	n := 0
	for _, node := range nodes {
		n += int(c.slots[set(node, req)].tag.Load() & 1)
	}
	return n
}

func (c *evalCache) put(node, req uint64, pl Placement) {
	base := set(node, req)
	victim := base + (node>>32^req>>32)&3 // a full set loses a slot picked by the key
	for i := base; i < base+4; i++ {
		if c.slots[i].entry.Load() == nil {
			victim = i
			break
		}
	}
	s := &c.slots[victim]
	s.tag.Store(0)
	s.entry.Store(&cacheEntry{node: node, req: req, pl: pl})
	s.tag.Store(tag(node, req))
}

// keyBasis starts every key. A key must not start from a raw field: mix
// XORs v into h before scrambling, so from h = version the keys of
// (version 1, 2 cards) and (version 2, 1 card) were equal (1^2 == 2^1), and
// a 1-card request got a 2-card request's cards once the mix moved on.
const keyBasis = 0xcbf29ce484222325

// mix folds v into h.
func mix(h, v uint64) uint64 {
	h ^= v
	h *= 0x100000001b3
	return h ^ h>>29
}

// StateKey hashes everything of n that a policy's Evaluate reads: its
// cards, what is allocated on them, its host resources and, when fresh, its
// load; never its name. Two nodes with one key are evaluated alike, so a
// caller that keeps a node unchanged while scoring it for many requests
// (the extender's snapshots) computes the key once and hands it to
// StateKeyed.EvaluateKeyed. The key is the same in every process.
func StateKey(n *Node) uint64 {
	h := mix(keyBasis, uint64(len(n.Cards)))
	h = mix(h, uint64(n.CPUMilli))
	h = mix(h, uint64(n.UsedCPUMilli))
	h = mix(h, uint64(n.MemoryMiB))
	h = mix(h, uint64(n.UsedMemoryMiB))
	var flags uint64
	if n.WholeCards {
		flags |= 1
	}
	if n.VGPU {
		flags |= 2
	}
	if n.LoadFresh {
		flags |= 4
	}
	h = mix(h, flags|uint64(n.Sharing)<<8)
	for i := range n.Units {
		u := &n.Units[i]
		h = mix(h, stringHash(u.Name))
		h = mix(h, uint64(u.Total)|uint64(u.Used)<<32)
	}
	prev := ""
	for i := range n.Cards {
		cd := &n.Cards[i]
		if i == 0 || cd.Type != prev {
			h = mix(h, stringHash(cd.Type))
			prev = cd.Type
		}
		h = mix(h, uint64(cd.UsedMilli)|uint64(cd.MemoryMiB)<<20)
		h = mix(h, uint64(cd.UsedMemoryMiB))
		if cd.Slots > 0 {
			h = mix(h, uint64(cd.Slots)|uint64(cd.UsedSlots)<<32)
		}
		if n.LoadFresh {
			h = mix(h, math.Float64bits(cd.Load.Utilization))
		}
	}
	return h
}

// reqKey hashes the request and what the policy scores it against: the mix
// snapshot and the shape scales.
func reqKey(r *Request, w *Workload, scale []float64) uint64 {
	h := mix(keyBasis, w.version)
	h = mix(h, uint64(r.Cards))
	h = mix(h, uint64(r.Milli))
	h = mix(h, uint64(r.CardMemoryMiB))
	h = mix(h, uint64(r.CPUMilli))
	h = mix(h, uint64(r.MemoryMiB))
	if r.VGPU {
		h = mix(h, 1)
	}
	h = mix(h, uint64(r.Sharing)+2)
	if r.Unit != "" {
		h = mix(h, stringHash(r.Unit))
	}
	for _, t := range r.Types {
		h = mix(h, stringHash(t))
	}
	for _, s := range scale {
		h = mix(h, math.Float64bits(s))
	}
	return h
}

// stringHash is FNV-1a of s: card types and unit names are a few bytes, and
// a fixed hash keeps StateKey the same wherever it is computed.
func stringHash(s string) uint64 {
	h := uint64(keyBasis)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}
