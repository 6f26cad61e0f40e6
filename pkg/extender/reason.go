package extender

import (
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

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
	// last and lastSuffix are the latest key found and its suffix: alike
	// nodes tend to come in runs, and a map lookup hashes the key's types.
	last       reasonKey
	lastSuffix string
}

// reason returns v's reason for node n of shape sh.
func (m *reasonMemo) reason(sh *cache.Shape, n *placement.Node, v placement.Verdict) string {
	node, rest := m.parts(sh, n, v)
	return node + rest
}

// parts returns v's reason for node n of shape sh in two parts, the
// node's name and the rest, without joining them; node is "" when the
// reason is not worded from a memoised rest, and rest is all of it.
func (m *reasonMemo) parts(sh *cache.Shape, n *placement.Node, v placement.Verdict) (node, rest string) {
	key, ok := m.key(sh, n, v)
	if !ok {
		return "", v.Reason()
	}
	name := n.Name
	if m.lastSuffix != "" && key == m.last {
		return name, m.lastSuffix
	}
	if suffix, ok := m.suffix[key]; ok {
		m.last, m.lastSuffix = key, suffix
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

func (m *reasonMemo) key(sh *cache.Shape, n *placement.Node, v placement.Verdict) (reasonKey, bool) {
	switch v.Short {
	case placement.ShortService, placement.ShortNoGPU:
		return reasonKey{short: v.Short}, true
	case placement.ShortType:
		return reasonKey{short: v.Short, types: sh.Types}, true
	case placement.ShortCards:
		return reasonKey{short: v.Short, types: sh.Types, a: sh.Idle}, sh.Uniform
	case placement.ShortShare:
		return reasonKey{short: v.Short, types: sh.Types, a: sh.MaxFree, b: sh.MaxFreeMem}, sh.Uniform
	case placement.ShortCPU:
		return reasonKey{short: v.Short, a: n.FreeCPUMilli()}, true
	case placement.ShortMemory:
		return reasonKey{short: v.Short, a: n.FreeMemoryMiB()}, true
	}
	return reasonKey{}, false
}
