package refusals

import (
	"cmp"
	"container/list"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// DefaultMaxPods is how many pods a Record keeps by default.
const DefaultMaxPods = 512

// MaxNodesPerGroup is how many node names a Group keeps; Count says how many
// nodes gave the reason in all.
const MaxNodesPerGroup = 10

// Group is one reason and the nodes it was given for.
type Group struct {
	// Reason is what the node is short of, without the node's name
	// ("4 free V100, pod needs 8").
	Reason string `json:"reason"`
	// Count is how many candidate nodes gave it.
	Count int `json:"count"`
	// Nodes are the first MaxNodesPerGroup of them by name.
	Nodes []string `json:"nodes"`
}

// Refusal is the extender's latest filter verdict on one pod.
type Refusal struct {
	// Pod is namespace/name.
	Pod string    `json:"pod"`
	UID types.UID `json:"uid"`
	// At is when the filter call answered.
	At time.Time `json:"at"`
	// Candidates is how many nodes kube-scheduler asked about, Fitting how
	// many of them fit.
	Candidates int `json:"candidates"`
	Fitting    int `json:"fitting"`
	// Error, when set, is the whole answer: the call itself was unusable.
	Error string `json:"error,omitempty"`
	// Groups are the reasons of the nodes that do not fit, most nodes
	// first; recorded only when none fits (a pod that fits somewhere is
	// kube-scheduler's to place, and wording every refusal of a fitting pod
	// would cost filter time for nothing).
	Groups []Group `json:"groups,omitempty"`
}

// Record holds the latest Refusal of the most recently filtered pods, at
// most maxPods of them: a new pod beyond that pushes out the one filtered
// longest ago. It is safe for concurrent use. A nil *Record records nothing.
type Record struct {
	clock   clock.PassiveClock
	maxPods int

	mu    sync.Mutex
	byUID map[types.UID]*list.Element
	order *list.List // of *Refusal, most recently put first
}

// New returns a record stamping verdicts with clk, keeping maxPods pods
// (DefaultMaxPods when maxPods <= 0).
func New(clk clock.PassiveClock, maxPods int) *Record {
	if maxPods <= 0 {
		maxPods = DefaultMaxPods
	}
	return &Record{clock: clk, maxPods: maxPods, byUID: make(map[types.UID]*list.Element), order: list.New()}
}

// Put records r as its pod's latest verdict, stamped with the record's
// clock, in place of the one before.
func (r *Record) Put(ref Refusal) {
	if r == nil {
		return
	}
	ref.At = r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byUID[ref.UID]; ok {
		e.Value = &ref
		r.order.MoveToFront(e)
		return
	}
	r.byUID[ref.UID] = r.order.PushFront(&ref)
	for r.order.Len() > r.maxPods {
		last := r.order.Back()
		delete(r.byUID, last.Value.(*Refusal).UID)
		r.order.Remove(last)
	}
}

// Forget drops the verdict of the pod uid (bound, or gone).
func (r *Record) Forget(uid types.UID) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byUID[uid]; ok {
		r.order.Remove(e)
		delete(r.byUID, uid)
	}
}

// Get returns the latest verdict on the pod uid. The Refusal is shared:
// callers must not change its Groups.
func (r *Record) Get(uid types.UID) (Refusal, bool) {
	if r == nil {
		return Refusal{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byUID[uid]
	if !ok {
		return Refusal{}, false
	}
	return *e.Value.(*Refusal), true
}

// Len returns how many pods the record holds.
func (r *Record) Len() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

// Grouper groups the reasons of one filter call. Its zero value is ready;
// it is not safe for concurrent use.
type Grouper struct {
	index  map[string]int
	groups []Group
}

// Add counts node's reason.
func (g *Grouper) Add(node, reason string) {
	if g.index == nil {
		g.index = make(map[string]int)
	}
	i, ok := g.index[reason]
	if !ok {
		i = len(g.groups)
		g.index[reason] = i
		g.groups = append(g.groups, Group{Reason: reason, Nodes: []string{}})
	}
	grp := &g.groups[i]
	grp.Count++
	if node == "" {
		return
	}
	// Keep the first MaxNodesPerGroup names in order, whatever order the
	// nodes come in.
	at, _ := slices.BinarySearch(grp.Nodes, node)
	switch {
	case len(grp.Nodes) < MaxNodesPerGroup:
		grp.Nodes = slices.Insert(grp.Nodes, at, node)
	case at < MaxNodesPerGroup:
		grp.Nodes = slices.Insert(grp.Nodes[:MaxNodesPerGroup-1], at, node)
	}
}

// Groups returns the groups, most nodes first, then by reason.
func (g *Grouper) Groups() []Group {
	out := slices.Clone(g.groups)
	slices.SortFunc(out, func(a, b Group) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Reason, b.Reason)
	})
	return out
}
