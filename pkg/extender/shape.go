package extender

import (
	"hash/maphash"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// shape is what a snapshot's placement decisions depend on, summarised when
// the snapshot is built so that one scheduling request can reuse the work
// done for a node on every node alike: placement scores and refusal reasons
// are functions of the cards and host resources, never of the node's name.
type shape struct {
	// hash covers exactly what sameShape compares.
	hash uint64
	// types are the node's distinct card types in the order of its cards,
	// joined by "|", as placement names them in its reasons.
	types   string
	uniform bool
	// idle counts the idle cards; maxFree and maxFreeMem are the free milli
	// and memory of the first card with the most free milli.
	idle       int64
	maxFree    int64
	maxFreeMem int64
}

// shapeSeed makes the hashes of one process comparable.
var shapeSeed = maphash.MakeSeed()

func shapeOf(n *placement.Node) shape {
	var s shape
	var h maphash.Hash
	h.SetSeed(shapeSeed)
	var seen []string
	s.uniform = true
	s.maxFree = -1
	for i := range n.Cards {
		c := &n.Cards[i]
		h.WriteString(c.Type)
		h.WriteByte(0)
		writeInts(&h, c.MemoryMiB, c.UsedMilli, c.UsedMemoryMiB)
		if i > 0 && c.Type != n.Cards[0].Type {
			s.uniform = false
		}
		if !containsString(seen, c.Type) {
			seen = append(seen, c.Type)
		}
		if c.Idle() {
			s.idle++
		}
		if c.FreeMilli() > s.maxFree {
			s.maxFree, s.maxFreeMem = c.FreeMilli(), c.FreeMemoryMiB()
		}
	}
	flags := int64(0)
	if n.WholeCards {
		flags |= 1
	}
	if n.VGPU {
		flags |= 2
	}
	writeInts(&h, int64(len(n.Cards)), flags, n.CPUMilli, n.MemoryMiB, n.UsedCPUMilli, n.UsedMemoryMiB)
	s.hash = h.Sum64()
	s.types = strings.Join(seen, "|")
	return s
}

func writeInts(h *maphash.Hash, vs ...int64) {
	var b [8]byte
	for _, v := range vs {
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		h.Write(b[:])
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// sameShape tells whether placement sees two nodes alike: the same cards
// (type, memory, allocation, in order) and the same host resources. Load is
// not compared: nodes are only taken as alike when scored without it.
func sameShape(a, b *placement.Node) bool {
	if len(a.Cards) != len(b.Cards) || a.WholeCards != b.WholeCards || a.VGPU != b.VGPU ||
		a.CPUMilli != b.CPUMilli || a.MemoryMiB != b.MemoryMiB || a.UsedCPUMilli != b.UsedCPUMilli || a.UsedMemoryMiB != b.UsedMemoryMiB {
		return false
	}
	for i := range a.Cards {
		x, y := &a.Cards[i], &b.Cards[i]
		if x.Type != y.Type || x.MemoryMiB != y.MemoryMiB || x.UsedMilli != y.UsedMilli || x.UsedMemoryMiB != y.UsedMemoryMiB {
			return false
		}
	}
	return true
}

// reasonKey is what a refusal's wording depends on besides the node's name,
// for one request: placement words "<node>: <what is short>", and what is
// short is a function of the shortfall and these numbers.
type reasonKey struct {
	short placement.Shortfall
	types string
	a, b  int64
}

// reasonMemo words the refusals of one single-part request, asking
// placement once per distinct key and reusing the wording after the node's
// name for every other node with that key. Not safe for concurrent use.
type reasonMemo struct {
	suffix map[reasonKey]string
}

// reason returns v's reason for the node of snapshot s.
func (m *reasonMemo) reason(s *nodeSnapshot, v placement.Verdict) string {
	node, rest := m.parts(s, v)
	return node + rest
}

// parts returns v's reason for the node of snapshot s in two parts, the
// node's name and the rest, without joining them; node is "" when the
// reason is not worded from a memoised rest, and rest is all of it.
func (m *reasonMemo) parts(s *nodeSnapshot, v placement.Verdict) (node, rest string) {
	key, ok := m.key(s, v)
	if !ok {
		return "", v.Reason()
	}
	name := s.node.Name
	if suffix, ok := m.suffix[key]; ok {
		return name, suffix
	}
	r := v.Reason()
	if len(r) > len(name) && r[len(name)] == ':' && r[:len(name)] == name {
		if m.suffix == nil {
			m.suffix = make(map[reasonKey]string)
		}
		m.suffix[key] = r[len(name):]
		return name, r[len(name):]
	}
	return "", r
}

func (m *reasonMemo) key(s *nodeSnapshot, v placement.Verdict) (reasonKey, bool) {
	sh := &s.shape
	n := &s.node
	switch v.Short {
	case placement.ShortService, placement.ShortNoGPU:
		return reasonKey{short: v.Short}, true
	case placement.ShortType:
		return reasonKey{short: v.Short, types: sh.types}, true
	case placement.ShortCards:
		return reasonKey{short: v.Short, types: sh.types, a: sh.idle}, sh.uniform
	case placement.ShortShare:
		return reasonKey{short: v.Short, types: sh.types, a: sh.maxFree, b: sh.maxFreeMem}, sh.uniform
	case placement.ShortCPU:
		return reasonKey{short: v.Short, a: n.FreeCPUMilli()}, true
	case placement.ShortMemory:
		return reasonKey{short: v.Short, a: n.FreeMemoryMiB()}, true
	}
	return reasonKey{}, false
}
