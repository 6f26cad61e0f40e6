package cache

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// ErrAlreadyHeld is returned by Reserve for a pod the node already holds as
// bound: binding it again would count its cards twice.
var ErrAlreadyHeld = errors.New("pod already holds cards on the node")

// State is the extender's picture of the cluster's GPUs, kept current by
// informer events (SetNode, DeleteNode, SetPod, DeletePod, or the pod
// records the informer's cache computed) and by the extender's own binds
// (Reserve, Forget). Every node has its own lock and
// publishes an immutable snapshot after each change, so filter and
// prioritize read a consistent picture of each node without waiting, and
// changes to one node never wait on another.
type State struct {
	voc    *request.Vocabulary
	clock  clock.PassiveClock
	ttl    time.Duration
	logger klog.Logger

	// nodesMu guards the map only; each node guards its own contents.
	nodesMu sync.RWMutex
	nodes   map[string]*nodeState

	// byName indexes the nodes by name for Resolve, copy on write and read
	// without a lock, the names written side by side in one string:
	// looking up thousands of names per call then reads a few pages of
	// memory, where the map's own keys are strings scattered over the
	// heap, one cache miss each. byNameStale, set when a node comes or
	// goes, has the next Resolve rebuild it (byNameMu serialises that).
	byName      atomic.Pointer[map[string]nodeRef]
	byNameStale atomic.Bool
	byNameMu    sync.Mutex

	// assumedMu guards assumed: which node holds each assumed pod, so that
	// the informer's first sight of the pod, a deletion or the TTL can find
	// it. Taken after a node's lock, never before.
	assumedMu sync.Mutex
	assumed   map[types.UID]string

	// typesMu guards types, one copy of each card type name: alike nodes
	// then share their type strings, which placement compares on every
	// check (equal pointers compare at once, and stay in cache).
	typesMu sync.Mutex
	types   map[string]string
	// typeLists holds one copy of each list of types pods ask for, keyed
	// by its names joined with NULs; see internTypeList.
	typeLists map[string][]string

	// freed counts the changes that may have made room on a node, and
	// freedCh is signalled after each (see Freed).
	freed   atomic.Uint64
	freedCh chan struct{}

	knownNodes  atomic.Int64
	cards       atomic.Int64
	boundPods   atomic.Int64
	assumedPods atomic.Int64
}

// nodeState is one node: its Node object's information, the pods holding
// something on it, and the latest snapshot.
type nodeState struct {
	name string
	mu   sync.Mutex
	// removed is set when the node left the map; a goroutine that looked it
	// up before then must look again.
	removed bool
	info    *nodeInfo
	pods    map[types.UID]*podRecord
	snap    atomic.Pointer[NodeSnapshot]
}

// NewState returns an empty state. Pods the extender binds are held as
// assumed for ttl unless the informer confirms or removes them first.
func NewState(v *request.Vocabulary, clk clock.PassiveClock, ttl time.Duration, logger klog.Logger) *State {
	return &State{
		voc: v, clock: clk, ttl: ttl, logger: logger,
		nodes:     make(map[string]*nodeState),
		assumed:   make(map[types.UID]string),
		types:     make(map[string]string),
		typeLists: make(map[string][]string),
		freedCh:   make(chan struct{}, 1),
	}
}

// Freed counts the changes so far that may have made room for a pod: a
// node's facts changed as the informer showed them, a pod holding
// something on a node went or changed, an assumed bind was dropped. A
// verdict taken while Freed was n may be stale once Freed is larger. The
// extender's own binds (Reserve) take room and are not counted.
func (s *State) Freed() uint64 { return s.freed.Load() }

// FreedSignal receives after a change Freed counts; one signal may stand
// for several changes.
func (s *State) FreedSignal() <-chan struct{} { return s.freedCh }

// markFreed counts a change that may have made room, after its snapshot
// is published.
func (s *State) markFreed() {
	s.freed.Add(1)
	select {
	case s.freedCh <- struct{}{}:
	default:
	}
}

// lockNode returns the named node locked, nil when the state does not
// know it.
func (s *State) lockNode(name string) *nodeState {
	for {
		s.nodesMu.RLock()
		ns := s.nodes[name]
		s.nodesMu.RUnlock()
		if ns == nil {
			return nil
		}
		if ns.lock() {
			return ns
		}
	}
}

// lockOrAddNode returns the named node locked, added empty when the state
// does not know it yet.
func (s *State) lockOrAddNode(name string) *nodeState {
	for {
		s.nodesMu.RLock()
		ns := s.nodes[name]
		s.nodesMu.RUnlock()
		if ns == nil {
			s.nodesMu.Lock()
			if ns = s.nodes[name]; ns == nil {
				ns = &nodeState{name: name, pods: make(map[types.UID]*podRecord)}
				ns.snap.Store(buildSnapshot(name, nil, nil, s.clock.Now()))
				s.nodes[name] = ns
				s.byNameStale.Store(true)
			}
			s.nodesMu.Unlock()
		}
		if ns.lock() {
			return ns
		}
	}
}

// lock locks the node; false (and unlocked) when it has left the state
// meanwhile, and the caller must look it up again.
func (ns *nodeState) lock() bool {
	ns.mu.Lock()
	if ns.removed {
		ns.mu.Unlock()
		return false
	}
	return true
}

// publish builds the locked node's snapshot from its cards and records and
// makes it the one readers see. It returns the snapshot.
func (s *State) publish(ns *nodeState) *NodeSnapshot {
	snap := buildSnapshot(ns.name, ns.info, ns.pods, s.clock.Now())
	ns.snap.Store(snap)
	return snap
}

// reportOverbooking logs what a node's snapshot could not book: the
// cluster runs more on the node than its cards hold. It is called after a
// change the informer showed (the extender's own binds never overbook).
func (s *State) reportOverbooking(snap *NodeSnapshot) {
	if len(snap.overbooked) > 0 {
		s.logger.Info("Node runs more than its cards hold", "node", snap.node.Name, "problems", snap.overbooked)
	}
}

// empty tells whether nothing is left of a locked node: no Node object and
// no pod holding anything on it.
func (ns *nodeState) empty() bool { return ns.info == nil && len(ns.pods) == 0 }

// release unlocks a locked node and, when nothing is left of it, takes it
// out of the state; a node that something was added to meanwhile stays.
// The map's lock comes before a node's, so the node is unlocked while it is
// taken.
func (s *State) release(ns *nodeState) {
	if !ns.empty() {
		ns.mu.Unlock()
		return
	}
	ns.mu.Unlock()
	s.nodesMu.Lock()
	defer s.nodesMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.empty() && s.nodes[ns.name] == ns {
		delete(s.nodes, ns.name)
		ns.removed = true
		s.byNameStale.Store(true)
	}
}

// SetNode records a node's cards from a new or updated Node object.
func (s *State) SetNode(node *corev1.Node) {
	info := nodeInfoFrom(node, s.voc)
	s.internTypes(info.cards)
	s.setNodeInfo(node.Name, info)
}

// setNodeInfo records the cards read from a new or updated node. info is
// kept as it is, shared with whoever built it (the informer's cache), and
// never changed.
func (s *State) setNodeInfo(name string, info *nodeInfo) {
	if info.err != nil {
		s.logger.Info("Node cannot take GPU pods", "node", name, "err", info.err)
	}
	ns := s.lockOrAddNode(name)
	old := ns.info
	if old == nil {
		s.knownNodes.Add(1)
	} else {
		s.cards.Add(-int64(len(old.cards)))
	}
	s.cards.Add(int64(len(info.cards)))
	ns.info = info
	if old != nil && old.sameCards(info) {
		ns.mu.Unlock() // nothing changed for the cards: keep the snapshot
		return
	}
	snap := s.publish(ns)
	ns.mu.Unlock()
	s.markFreed()
	s.reportOverbooking(snap)
}

// internTypes makes the cards' type names the state's single copies.
func (s *State) internTypes(cards []placement.Card) {
	s.typesMu.Lock()
	defer s.typesMu.Unlock()
	for i := range cards {
		t, ok := s.types[cards[i].Type]
		if !ok {
			t = strings.Clone(cards[i].Type)
			s.types[t] = t
		}
		cards[i].Type = t
	}
}

// internTypeList returns the state's single copy of a list of card types:
// pods of one kind then share one list instead of each keeping its own (and,
// through it, strings of its decoded object). The list is shared: callers
// never change it.
func (s *State) internTypeList(ts []string) []string {
	if len(ts) == 0 {
		return ts
	}
	key := strings.Join(ts, "\x00")
	s.typesMu.Lock()
	defer s.typesMu.Unlock()
	if out, ok := s.typeLists[key]; ok {
		return out
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		c, ok := s.types[t]
		if !ok {
			c = strings.Clone(t)
			s.types[c] = c
		}
		out[i] = c
	}
	s.typeLists[strings.Clone(key)] = out
	return out
}

// internRecord makes a new record's type lists the state's single copies,
// before the record is shared.
func (s *State) internRecord(rec *podRecord) *podRecord {
	rec.wholeTypes = s.internTypeList(rec.wholeTypes)
	for i := range rec.floating {
		rec.floating[i].Types = s.internTypeList(rec.floating[i].Types)
	}
	return rec
}

// DeleteNode forgets a node's cards; pods still bound to it keep their
// records until they go too.
func (s *State) DeleteNode(name string) {
	ns := s.lockNode(name)
	if ns == nil {
		return
	}
	if ns.info != nil {
		s.knownNodes.Add(-1)
		s.cards.Add(-int64(len(ns.info.cards)))
		ns.info = nil
	}
	s.publish(ns)
	s.release(ns)
}

// SetPod records what a new or updated pod holds: a bound, running pod its
// cards and host resources; a terminated pod nothing. An unbound pod changes
// nothing (an assumed record of it stays until the pod is bound, deleted or
// the TTL passes).
func (s *State) SetPod(pod *corev1.Pod) {
	node := pod.Spec.NodeName
	if node == "" {
		return
	}
	var rec *podRecord
	if !terminated(pod) {
		rec = s.internRecord(recordOf(pod, s.voc))
	}
	s.setRecord(pod.UID, node, rec)
}

// setRecord records what the pod uid, bound to node, holds: rec, or nothing
// when rec is nil (its containers are done). rec is kept as it is, shared
// with whoever built it (the informer's cache), and never changed.
func (s *State) setRecord(uid types.UID, node string, rec *podRecord) {
	if rec == nil {
		s.removePod(uid, node)
		return
	}
	if rec.problem != "" {
		s.logger.V(2).Info("Pod's GPU holding is approximate", "pod", rec.ref(), "node", node, "problem", rec.problem)
	}
	ns := s.lockOrAddNode(node)
	old := ns.pods[uid]
	ns.pods[uid] = rec
	switch {
	case old == nil:
		s.boundPods.Add(1)
	case old.assumed:
		s.boundPods.Add(1)
		s.assumedPods.Add(-1)
	}
	if old != nil && old.sameAllocation(rec) {
		ns.mu.Unlock() // nothing changed for the cards: keep the snapshot
	} else {
		snap := s.publish(ns)
		ns.mu.Unlock()
		if old != nil {
			s.markFreed() // what the pod holds changed
		}
		s.reportOverbooking(snap)
	}
	s.confirm(uid, node)
}

// confirm drops the assumed record of a pod the informer now shows bound,
// wherever it was assumed.
func (s *State) confirm(uid types.UID, boundTo string) {
	s.assumedMu.Lock()
	at, ok := s.assumed[uid]
	delete(s.assumed, uid)
	s.assumedMu.Unlock()
	if !ok || at == boundTo {
		return // on the same node the bound record already replaced it
	}
	s.dropAssumed(uid, at)
}

// DeletePod forgets a pod: its bound record and any assumed one.
func (s *State) DeletePod(pod *corev1.Pod) {
	s.deleteRecord(pod.UID, pod.Spec.NodeName)
}

// deleteRecord forgets the pod uid: its record on node (none when node is
// empty: the pod was pending) and any assumed one.
func (s *State) deleteRecord(uid types.UID, node string) {
	if node != "" {
		s.removePod(uid, node)
	}
	s.Forget(uid)
}

func (s *State) removePod(uid types.UID, node string) {
	ns := s.lockNode(node)
	if ns == nil {
		return
	}
	if rec, ok := ns.pods[uid]; ok {
		delete(ns.pods, uid)
		if rec.assumed {
			s.assumedPods.Add(-1)
		} else {
			s.boundPods.Add(-1)
		}
		s.publish(ns)
		s.release(ns)
		s.markFreed()
	} else {
		ns.mu.Unlock()
	}
	s.assumedMu.Lock()
	if s.assumed[uid] == node {
		delete(s.assumed, uid)
	}
	s.assumedMu.Unlock()
}

// Reserve books a pod on a node for a bind: under the node's lock, plan sees
// the node's current snapshot and returns what the pod takes (or why it
// cannot), and the result is held as assumed until the informer confirms
// the binding, Forget drops it, or the TTL passes. Two Reserves on one node
// run one after the other, so they never take the same share. A pod held
// as assumed anywhere is refused: its first bind is in flight or done, and
// a second one (kube-scheduler retrying after a timeout, maybe on another
// node) would otherwise replace or, by failing, forget the first one's
// booking while the pod may be bound with it.
func (s *State) Reserve(node string, uid types.UID, key string, plan func(*NodeSnapshot) (*Holding, error)) error {
	ns := s.lockNode(node)
	if ns == nil {
		return fmt.Errorf("%s: no such node known to the extender (yet)", node)
	}
	if old, ok := ns.pods[uid]; ok && !old.assumed {
		ns.mu.Unlock()
		return fmt.Errorf("%w: %s on %s", ErrAlreadyHeld, key, node)
	}
	// The pod is claimed before plan runs, so that a Reserve of it on
	// another node, under that node's lock, is refused meanwhile.
	s.assumedMu.Lock()
	prev, busy := s.assumed[uid]
	if !busy {
		s.assumed[uid] = node
	}
	s.assumedMu.Unlock()
	if busy {
		ns.mu.Unlock()
		return fmt.Errorf("%w: a bind of %s to %s is in flight or awaits the informer", ErrAlreadyHeld, key, prev)
	}
	h, err := plan(ns.snap.Load())
	if err != nil {
		s.assumedMu.Lock()
		if s.assumed[uid] == node {
			delete(s.assumed, uid)
		}
		s.assumedMu.Unlock()
		ns.mu.Unlock()
		return err
	}
	rec := &podRecord{
		uid: uid, key: key, assumed: true, expires: s.clock.Now().Add(s.ttl),
		whole: h.WholeCards, wholeTypes: h.WholeTypes, shares: h.Shares, units: h.Units, cpuMilli: h.CPUMilli, memMiB: h.MemoryMiB,
		priority: h.Priority,
	}
	if _, ok := ns.pods[uid]; !ok {
		s.assumedPods.Add(1)
	}
	ns.pods[uid] = rec
	s.publish(ns)
	ns.mu.Unlock()
	return nil
}

// Forget drops a pod's assumed record, if any: its bind failed or the pod
// is gone.
func (s *State) Forget(uid types.UID) {
	s.assumedMu.Lock()
	node, ok := s.assumed[uid]
	delete(s.assumed, uid)
	s.assumedMu.Unlock()
	if ok {
		s.dropAssumed(uid, node)
	}
}

func (s *State) dropAssumed(uid types.UID, node string) {
	ns := s.lockNode(node)
	if ns == nil {
		return
	}
	if rec, ok := ns.pods[uid]; ok && rec.assumed {
		delete(ns.pods, uid)
		s.assumedPods.Add(-1)
		s.publish(ns)
		s.release(ns)
		s.markFreed()
		return
	}
	ns.mu.Unlock()
}

// Expire drops assumed records older than the TTL: binds the informer never
// confirmed. It returns how many it dropped.
func (s *State) Expire() int {
	now := s.clock.Now()
	s.assumedMu.Lock()
	var uids []types.UID
	var nodes []string
	for uid, node := range s.assumed {
		uids, nodes = append(uids, uid), append(nodes, node)
	}
	s.assumedMu.Unlock()
	dropped := 0
	for i, uid := range uids {
		ns := s.lockNode(nodes[i])
		if ns == nil {
			continue
		}
		rec, ok := ns.pods[uid]
		if !ok || !rec.expired(now) {
			ns.mu.Unlock()
			continue
		}
		delete(ns.pods, uid)
		s.assumedPods.Add(-1)
		s.publish(ns)
		s.release(ns)
		s.markFreed()
		s.assumedMu.Lock()
		if s.assumed[uid] == nodes[i] {
			delete(s.assumed, uid)
		}
		s.assumedMu.Unlock()
		s.logger.Info("Dropped a bind the informer never confirmed", "pod", rec.key, "node", nodes[i], "ttl", s.ttl)
		dropped++
	}
	return dropped
}

// Snapshot returns the named node's current snapshot, nil when the node is
// unknown.
func (s *State) Snapshot(name string) *NodeSnapshot {
	s.nodesMu.RLock()
	ns := s.nodes[name]
	s.nodesMu.RUnlock()
	if ns == nil {
		return nil
	}
	return ns.snap.Load()
}

// Snapshots fills out with the snapshots of names (nil for unknown nodes)
// under one read lock of the map.
func (s *State) Snapshots(names []string, out []*NodeSnapshot) {
	s.Resolve(names, nil, out)
}

// Resolve is Snapshots for names some of which are still bytes: where
// pending gives the bytes of name i (not nil), names[i] is set from them
// first, to the state's own string of the name for a node it knows, so
// that a call over thousands of names allocates no string for them and
// looks each up once. A nil pending is Snapshots; a nil out only reads
// the names.
//
// It reads the index of names (byName) as the nodes stood when it was
// last rebuilt: a node that a concurrent event has just taken out may
// still be found, with its last snapshot, as it would have been a moment
// earlier.
func (s *State) Resolve(names []string, pending func(i int) []byte, out []*NodeSnapshot) {
	if pending == nil && out == nil {
		return // nothing to read, nothing to find
	}
	index := s.nameIndex()
	// A block of names is looked up first, then their snapshots read one
	// after the other: each node's state is a cache miss, and loads that
	// do not wait on each other are fetched together.
	var found [resolveBlock]*nodeState
	for lo := 0; lo < len(names); lo += resolveBlock {
		hi := min(lo+resolveBlock, len(names))
		for i := lo; i < hi; i++ {
			var ref nodeRef
			if b := bytesOf(pending, i); b != nil {
				var known bool
				if ref, known = index[string(b)]; known {
					names[i] = ref.name
				} else {
					names[i] = string(b)
				}
			} else if out != nil {
				ref = index[names[i]]
			}
			found[i-lo] = ref.ns
		}
		if out == nil {
			continue
		}
		for i := lo; i < hi; i++ {
			out[i] = nil
			if ns := found[i-lo]; ns != nil {
				out[i] = ns.snap.Load()
			}
		}
	}
}

// resolveBlock is how many names Resolve looks up before it reads their
// snapshots.
const resolveBlock = 64

// nodeRef is a node as byName finds it: its name, from the index's one
// string of names, and its state.
type nodeRef struct {
	name string
	ns   *nodeState
}

// nameIndex returns byName, rebuilt first when a node came or went since.
func (s *State) nameIndex() map[string]nodeRef {
	if p := s.byName.Load(); p != nil && !s.byNameStale.Load() {
		return *p
	}
	s.byNameMu.Lock()
	defer s.byNameMu.Unlock()
	if p := s.byName.Load(); p != nil && !s.byNameStale.Load() {
		return *p // rebuilt while this call waited
	}
	// Cleared before the map is read: a node that comes meanwhile sets it
	// again, and the next call rebuilds.
	s.byNameStale.Store(false)
	s.nodesMu.RLock()
	size := 0
	for name := range s.nodes {
		size += len(name)
	}
	var all strings.Builder
	all.Grow(size)
	states := make([]*nodeState, 0, len(s.nodes))
	for name, ns := range s.nodes {
		all.WriteString(name)
		states = append(states, ns)
	}
	s.nodesMu.RUnlock()
	joined, at := all.String(), 0
	index := make(map[string]nodeRef, len(states))
	for _, ns := range states {
		name := joined[at : at+len(ns.name)]
		at += len(ns.name)
		index[name] = nodeRef{name: name, ns: ns}
	}
	s.byName.Store(&index)
	return index
}

// bytesOf is pending(i), or nil without pending.
func bytesOf(pending func(int) []byte, i int) []byte {
	if pending == nil {
		return nil
	}
	return pending(i)
}

// Sizes are the state's counts, for metrics.
type Sizes struct {
	Nodes       int64 `json:"nodes"`
	Cards       int64 `json:"cards"`
	BoundPods   int64 `json:"boundPods"`
	AssumedPods int64 `json:"assumedPods"`
}

// Sizes returns the current counts.
func (s *State) Sizes() Sizes {
	return Sizes{Nodes: s.knownNodes.Load(), Cards: s.cards.Load(), BoundPods: s.boundPods.Load(), AssumedPods: s.assumedPods.Load()}
}
