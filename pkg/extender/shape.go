package extender

import (
	"strings"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// shape is what a refusal's wording depends on, summarised when the
// snapshot is built so that filter words the refusal of a node once for
// every node alike (see reasonMemo): placement's reasons are functions of
// the cards and host resources, never of the node's name.
type shape struct {
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

func shapeOf(n *placement.Node) shape {
	var s shape
	var seen []string
	s.uniform = true
	s.maxFree = -1
	for i := range n.Cards {
		c := &n.Cards[i]
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
	s.types = strings.Join(seen, "|")
	return s
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
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
//
// It pays for itself: at 5,000 nodes of 8 cards (BenchmarkFilterPrioritize,
// 100 pods, two runs each on a busy 2-core machine) filter and prioritize
// took 7.8 CPU-ms per pod under auto with it and 11.7 without (8.4 and 9.8
// under binpack): most nodes refuse a pod, and wording each refusal afresh
// formats a string per node. A memo of prioritize's scores by node shape
// was measured the same way and removed: 7.8 CPU-ms with it, 9.3 without
// under auto and 8.4 against 8.2 under binpack, within the noise, since
// auto's own cache (placement/cache.go) already answers alike nodes.
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
