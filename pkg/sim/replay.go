package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Thresholds are the arrived percentages at which a replay reports the
// allocation.
func Thresholds() []int { return []int{90, 100, 110, 120, 130} }

// Result is the outcome of one replay.
type Result struct {
	Policy string
	Seed   int64
	// GPUs is the cluster's card count.
	GPUs int
	// At[k] is the allocation % at arrived % Thresholds()[k] as the paper's
	// analysis script reads it: the mean allocation % over the pods after
	// which the arrived %, rounded to a whole percent (half to even), is
	// the threshold (none: those rounding to one either side; none either:
	// First[k], where the script would give no value); Reached[k] tells
	// whether the arrived % ever reached the threshold.
	At      []float64
	Reached []bool
	// First[k] is the allocation % right after the first pod whose arrival
	// brought the arrived % to Thresholds()[k] or beyond.
	First []float64
	// Curve[a] is the allocation % at arrived % a, read as At is, for a =
	// 0, 1, … up to the last arrived %; NaN where no pod counted.
	Curve []float64
	// Placed and Failed count pods (CPU-only ones included).
	Placed, Failed int
	// ArrivedMilli and PlacedMilli are the GPU requested and placed, in milli.
	ArrivedMilli, PlacedMilli int64
	// Nodes, when the replay was asked to record them, holds per pod of the
	// arrival order the index of the node it went to, -1 when dropped.
	Nodes []int
}

// Ties is how a replay chooses among nodes of equal best score.
type Ties uint8

const (
	// TiesFirstName takes the node whose name sorts first, as the
	// extender's /filter-best does.
	TiesFirstName Ties = iota
	// TiesRandom takes one of the best uniformly at random (seeded), as an
	// unpatched kube-scheduler does.
	TiesRandom
	// TiesShuffled takes the node first in an order of the nodes shuffled
	// once per seed: the ATC '23 paper's simulator, which sorts the nodes by
	// name, prefixes each name with its place in a random permutation
	// ("0042-node") before creating it, and then breaks ties by the prefixed
	// name. Ties go to the same node all run long, as with TiesFirstName,
	// but that node is drawn at random rather than the first of the list.
	TiesShuffled
)

// tiesNames are the names of the Ties values.
func tiesNames() enumNames[Ties] { return enumNames[Ties]{"name", "random", "shuffled"} }

// ParseTies reads "name", "random" or "shuffled".
func ParseTies(s string) (Ties, error) {
	if t, ok := tiesNames().parse(s); ok {
		return t, nil
	}
	return 0, fmt.Errorf("%w: --ties %q, want name (the extender's filter-best), random (kube-scheduler's own scores) or shuffled (the paper's simulator)", ErrUsage, s)
}

// tieRanks returns, per node, its rank in ties (the lowest rank wins), or
// nil when ties are broken at random.
func tieRanks(nodes []placement.Node, ties Ties, seed int64) []int {
	if ties == TiesRandom {
		return nil
	}
	byName, place := make([]int, len(nodes)), make([]int, len(nodes))
	for i := range nodes {
		byName[i], place[i] = i, i
	}
	slices.SortStableFunc(byName, func(a, b int) int { return strings.Compare(nodes[a].Name, nodes[b].Name) })
	if ties == TiesShuffled {
		newRNG(seed, streamNodeOrder).shuffle(place)
	}
	rank := make([]int, len(nodes))
	for k, i := range byName {
		rank[i] = place[k]
	}
	return rank
}

func (t Ties) String() string { return tiesNames().name(t) }

// Replay places the pods one at a time in the order given (Arrivals) with
// policy p, the way the extender does for one pod: every node that fits
// (placement.Check) is scored (Policy.Evaluate) and the best one takes the
// pod on the cards the policy chose; ties go to the node whose name sorts
// first, the node first in an order shuffled once per seed, or one of the
// best at random (ties). A pod that fits nowhere is dropped; nothing
// departs. A learning policy observes each pod when it arrives, before it
// is placed, never one still to come.
//
// After each pod, arrived % = GPU milli requested so far (placed or not) /
// capacity and allocation % = GPU milli placed so far / capacity; Result.At
// reads them as the paper's analysis script does, Result.First right after
// the first pod whose arrival brings arrived % to a threshold.
//
// nodes is not changed: the replay works on a copy.
func Replay(nodes []placement.Node, pods []Pod, order []int, p placement.Policy, seed int64, ties Ties) (Result, error) {
	return ReplayWith(nodes, pods, order, p, seed, ReplayOptions{Ties: ties})
}

// ReplayOptions are the ways a replay may differ from the paper's.
type ReplayOptions struct {
	// Ties is how equal best scores are broken.
	Ties Ties
	// Sampling, when set, replays kube-scheduler's node sampling in front
	// of the policy (see Sampling).
	Sampling *Sampling
	// Record keeps in Result.Nodes the node each pod went to.
	Record bool
	// CPUPods is who places the pods without GPU; default the policy.
	CPUPods CPUPods
}

// Sampling is kube-scheduler's node sampling: for each pod it walks the
// nodes from where the previous pod's walk stopped (wrapping around),
// keeps those that pass its own filters — free CPU and memory, and the
// card type the webhook's node affinity asks for — and stops once it has
// NodesToFind of them; the extender (the policy) only sees those. GPU
// resources are ignored by kube-scheduler, so a kept node may have no card
// for the pod.
type Sampling struct {
	// PercentageOfNodesToScore as in KubeSchedulerConfiguration; 0 is the
	// adaptive default.
	PercentageOfNodesToScore int
}

// NodesToFind is how many feasible nodes kube-scheduler looks for among n:
// every node below 100; else the percentage of n, the adaptive default
// being 50 - n/125 (at least 5), and never fewer than 100.
func (s Sampling) NodesToFind(n int) int {
	const minNodes, minPercentage = 100, 5
	if n < minNodes {
		return n
	}
	pct := s.PercentageOfNodesToScore
	if pct <= 0 {
		pct = max(50-n/125, minPercentage)
	}
	if pct >= 100 {
		return n
	}
	return max(n*pct/100, minNodes)
}

// ReplayWith is Replay with the options o.
func ReplayWith(nodes []placement.Node, pods []Pod, order []int, p placement.Policy, seed int64, o ReplayOptions) (Result, error) {
	cluster := cloneNodes(nodes)
	rec := NewRecorder(p.Name(), seed, cluster, o.Record)
	learner, _ := p.(placement.Learner)
	pk := newPicker(cluster, seed)
	pk.rank = tieRanks(cluster, o.Ties, seed)
	pk.cpuPods = o.CPUPods
	if o.Sampling != nil {
		pk.sample = o.Sampling.NodesToFind(len(cluster))
	}
	for _, k := range order {
		pod := &pods[k]
		r := &pod.Request
		if r.Cards == 0 && o.CPUPods != CPUPodsPolicy {
			best, ok := pk.pickKube(r)
			if ok {
				if err := cluster[best].Assign(r, 0); err != nil {
					return rec.Result(), fmt.Errorf("kube-scheduler's scores placed pod %s where it does not fit: %w", pod.Name, err)
				}
				pk.summarise(best)
			} else {
				best = -1
			}
			rec.Add(r, best)
			continue
		}
		if learner != nil {
			learner.Observe(r)
		}
		best, set, ok := pk.pick(r, p)
		if ok {
			if err := cluster[best].Assign(r, set); err != nil {
				return rec.Result(), fmt.Errorf("policy %s placed pod %s where it does not fit: %w", p.Name(), pod.Name, err)
			}
			pk.summarise(best)
		} else {
			best = -1
		}
		rec.Add(r, best)
	}
	return rec.Result(), nil
}

// Recorder keeps a replay's account as the pods arrive: the GPU arrived
// and placed after each pod, read into a Result as Replay reads it. The
// simulator and the replay through kube-scheduler (test/perf) both account
// with it, so that their figures are computed the same way.
type Recorder struct {
	res      Result
	capacity int64
	next     int
	buckets  arrivedBuckets
	record   bool
}

// NewRecorder starts the account of a replay of policy with seed on nodes;
// record also keeps, in Result.Nodes, the node each pod went to.
func NewRecorder(policy string, seed int64, nodes []placement.Node, record bool) *Recorder {
	var capacity int64
	for i := range nodes {
		capacity += nodes[i].GPUMilli()
	}
	th := Thresholds()
	return &Recorder{
		res: Result{Policy: policy, Seed: seed, GPUs: int(capacity / placement.MilliPerCard),
			At: make([]float64, len(th)), Reached: make([]bool, len(th)), First: make([]float64, len(th))},
		capacity: capacity, record: record,
	}
}

// Add records the next pod of the arrival order: r is what it asked for,
// node the index of the node it went to, below 0 when it was dropped.
func (rc *Recorder) Add(r *placement.Request, node int) {
	res := &rc.res
	res.ArrivedMilli += r.GPUMilli()
	if node >= 0 {
		res.Placed++
		res.PlacedMilli += r.GPUMilli()
	} else {
		res.Failed++
	}
	if rc.record {
		res.Nodes = append(res.Nodes, node)
	}
	if rc.capacity == 0 {
		return
	}
	th := Thresholds()
	alloc := float64(res.PlacedMilli) * 100 / float64(rc.capacity)
	rc.buckets.add(float64(res.ArrivedMilli)*100/float64(rc.capacity), alloc)
	for rc.next < len(th) && res.ArrivedMilli*100 >= int64(th[rc.next])*rc.capacity {
		res.First[rc.next], res.Reached[rc.next] = alloc, true
		rc.next++
	}
}

// Arrived is the arrived % so far.
func (rc *Recorder) Arrived() float64 {
	if rc.capacity == 0 {
		return 0
	}
	return float64(rc.res.ArrivedMilli) * 100 / float64(rc.capacity)
}

// Result reads the account so far: the allocation at each threshold
// reached, and the curve.
func (rc *Recorder) Result() Result {
	res := rc.res
	res.At = slices.Clone(res.At)
	res.Reached = slices.Clone(res.Reached)
	res.First = slices.Clone(res.First)
	res.Nodes = slices.Clone(res.Nodes)
	for k, t := range Thresholds() {
		if !res.Reached[k] {
			continue
		}
		if v, ok := rc.buckets.at(t); ok {
			res.At[k] = v
		} else {
			res.At[k] = res.First[k]
		}
	}
	res.Curve = make([]float64, len(rc.buckets.n))
	for a := range res.Curve {
		v, ok := rc.buckets.at(a)
		if !ok {
			v = math.NaN()
		}
		res.Curve[a] = v
	}
	return res
}

// PrefixUntil is the part of order whose account is complete at arrived %
// until: up to and including the first pod after which the arrived %
// rounds above it, so that Result.At at until reads every pod it would in
// the whole order. The whole order when it never gets there.
func PrefixUntil(pods []Pod, order []int, capacity int64, until float64) []int {
	if capacity <= 0 {
		return order
	}
	var arrived int64
	for i, k := range order {
		arrived += pods[k].Request.GPUMilli()
		if math.RoundToEven(float64(arrived)*100/float64(capacity)) > until {
			return order[:i+1]
		}
	}
	return order
}

// arrivedBuckets sums the allocation % per arrived %, rounded to a whole
// percent.
type arrivedBuckets struct {
	sum []float64
	n   []int
}

func (b *arrivedBuckets) add(arrived, alloc float64) {
	k := int(math.RoundToEven(arrived))
	if k < 0 {
		return
	}
	for len(b.n) <= k {
		b.sum, b.n = append(b.sum, 0), append(b.n, 0)
	}
	b.sum[k] += alloc
	b.n[k]++
}

// at is the mean allocation % of bucket t, or, when it is empty, of
// buckets t-1 and t+1; false when those are empty too.
func (b *arrivedBuckets) at(t int) (float64, bool) {
	get := func(k int) (float64, int) {
		if k < 0 || k >= len(b.n) {
			return 0, 0
		}
		return b.sum[k], b.n[k]
	}
	if s, n := get(t); n > 0 {
		return s / float64(n), true
	}
	s1, n1 := get(t - 1)
	s2, n2 := get(t + 1)
	if n1+n2 == 0 {
		return 0, false
	}
	return (s1 + s2) / float64(n1+n2), true
}

// picker chooses a node for each pod. It returns what scoring every node
// that fits with the policy returns, only faster, two ways:
//
//   - a per-node summary (idle cards, freest card, free CPU and memory)
//     rejects nodes that cannot fit before Check is asked; it only skips
//     nodes Check would refuse;
//   - nodes in the same state get the same placement from a policy
//     (Evaluate is a function of the node's state), so within one pod each
//     distinct state is evaluated once.
type picker struct {
	cluster []placement.Node
	typeID  []uint64 // per node: its card type + 1; 0: not memoised
	sum     []summary
	memo    []memo // open-addressing table, valid where gen matches
	gen     uint32
	ties    rng
	rank    []int // per node, its rank in ties (lowest wins); nil: at random
	sample  int   // > 0: kube-scheduler's sampling keeps this many nodes
	start   int   // where kube-scheduler's next walk starts
	fits    []*placement.Node
	fitIdx  []int
	// cpuPods is who places pods without GPU.
	cpuPods CPUPods
}

type summary struct {
	idle             int
	maxFree          int64
	freeCPU, freeMem int64
}

type memo struct {
	gen  uint32
	node int // the node the placement was computed on
	hash uint64
	pl   placement.Placement
}

// Nodes of more cards than this, of several card types, with card memory or
// with load data are always evaluated.
const memoCards = 16

func newPicker(cluster []placement.Node, seed int64) *picker {
	size := 1
	for size < 4*len(cluster) {
		size *= 2
	}
	p := &picker{cluster: cluster, typeID: make([]uint64, len(cluster)), sum: make([]summary, len(cluster)),
		memo: make([]memo, size), ties: newRNG(seed, streamTies)}
	ids := map[string]uint64{}
	for i := range cluster {
		p.summarise(i)
		n := &cluster[i]
		if len(n.Cards) > memoCards || n.LoadFresh {
			continue
		}
		t := ""
		if len(n.Cards) > 0 {
			t = n.Cards[0].Type
		}
		uniform := true
		for k := range n.Cards {
			uniform = uniform && n.Cards[k].Type == t && n.Cards[k].MemoryMiB == 0
		}
		if !uniform {
			continue
		}
		id, ok := ids[t]
		if !ok {
			id = uint64(len(ids)) + 1
			ids[t] = id
		}
		p.typeID[i] = id
	}
	return p
}

// summarise refreshes node i's summary after it changed.
func (p *picker) summarise(i int) {
	n := &p.cluster[i]
	s := summary{freeCPU: math.MaxInt64, freeMem: math.MaxInt64}
	if n.CPUMilli > 0 {
		s.freeCPU = n.FreeCPUMilli()
	}
	if n.MemoryMiB > 0 {
		s.freeMem = n.FreeMemoryMiB()
	}
	for k := range n.Cards {
		c := &n.Cards[k]
		if c.Idle() {
			s.idle++
		}
		s.maxFree = max(s.maxFree, c.FreeMilli())
	}
	p.sum[i] = s
}

// cannotFit tells, from the summary alone, that node i does not fit r.
func (p *picker) cannotFit(i int, r *placement.Request) bool {
	s := &p.sum[i]
	if r.CPUMilli > s.freeCPU || r.MemoryMiB > s.freeMem {
		return true
	}
	if r.Cards == 0 {
		return false
	}
	if r.IsShare() {
		return r.Milli > s.maxFree
	}
	return r.Cards > s.idle
}

// kubeFits is kube-scheduler's own filter of node i for r: free CPU and
// memory, and one of the card types r allows (the webhook's node affinity).
func (p *picker) kubeFits(i int, r *placement.Request) bool {
	s := &p.sum[i]
	if r.CPUMilli > s.freeCPU || r.MemoryMiB > s.freeMem {
		return false
	}
	if len(r.Types) == 0 {
		return true
	}
	for _, c := range p.cluster[i].Cards {
		if slices.Contains(r.Types, c.Type) {
			return true
		}
	}
	return false
}

// hash mixes what Check and Evaluate read of a memoised node: its card type,
// host resources and the allocation of each card.
func (p *picker) hash(i int) uint64 {
	n := &p.cluster[i]
	h := p.typeID[i]
	mix := func(v uint64) { h = (h ^ v) * 0x100000001b3; h ^= h >> 29 }
	mix(uint64(n.CPUMilli))
	mix(uint64(n.UsedCPUMilli))
	mix(uint64(n.MemoryMiB))
	mix(uint64(n.UsedMemoryMiB))
	var flags uint64
	if n.WholeCards {
		flags |= 1
	}
	if n.VGPU {
		flags |= 2
	}
	mix(flags | uint64(len(n.Cards))<<2)
	for k := range n.Cards {
		mix(uint64(n.Cards[k].UsedMilli) | uint64(n.Cards[k].UsedMemoryMiB)<<16 | uint64(n.Cards[k].UsedSlots)<<48)
	}
	return h
}

// same tells whether memoised nodes i and j are in the same state.
func (p *picker) same(i, j int) bool {
	a, b := &p.cluster[i], &p.cluster[j]
	if p.typeID[i] != p.typeID[j] || a.CPUMilli != b.CPUMilli || a.UsedCPUMilli != b.UsedCPUMilli ||
		a.MemoryMiB != b.MemoryMiB || a.UsedMemoryMiB != b.UsedMemoryMiB || a.WholeCards != b.WholeCards ||
		a.VGPU != b.VGPU || len(a.Cards) != len(b.Cards) {
		return false
	}
	for k := range a.Cards {
		if a.Cards[k].UsedMilli != b.Cards[k].UsedMilli || a.Cards[k].UsedMemoryMiB != b.Cards[k].UsedMemoryMiB ||
			a.Cards[k].UsedSlots != b.Cards[k].UsedSlots || a.Cards[k].Slots != b.Cards[k].Slots {
			return false
		}
	}
	return true
}

// evaluate returns pol's placement on node i, from the memo when a node in
// the same state was evaluated for this pod.
func (p *picker) evaluate(i int, r *placement.Request, pol placement.Policy) placement.Placement {
	if p.typeID[i] == 0 {
		return pol.Evaluate(&p.cluster[i], r)
	}
	h := p.hash(i)
	mask := uint64(len(p.memo) - 1)
	slot := h & mask
	for ; p.memo[slot].gen == p.gen; slot = (slot + 1) & mask {
		if m := &p.memo[slot]; m.hash == h && p.same(i, m.node) {
			return m.pl
		}
	}
	pl := pol.Evaluate(&p.cluster[i], r)
	p.memo[slot] = memo{gen: p.gen, node: i, hash: h, pl: pl}
	return pl
}

// pick returns the node that policy pol ranks best for r and the cards it
// takes there; equal best scores go to the node of the lowest rank
// (tieRanks), or are broken uniformly at random. As in the extender, only
// the nodes that fit are scored, and a Preparer sees them all first.
func (p *picker) pick(r *placement.Request, pol placement.Policy) (int, placement.CardSet, bool) {
	p.gen++
	if p.gen == 0 { // wrapped: old entries would look current
		clear(p.memo)
		p.gen = 1
	}
	p.fits, p.fitIdx = p.fits[:0], p.fitIdx[:0]
	n := len(p.cluster)
	found, walked := 0, 0
	for k := 0; k < n; k++ {
		i := k
		if p.sample > 0 {
			i = (p.start + k) % n
			walked++
			if !p.kubeFits(i, r) {
				continue
			}
			found++
		}
		if !p.cannotFit(i, r) && placement.Check(&p.cluster[i], r).OK() {
			p.fits = append(p.fits, &p.cluster[i])
			p.fitIdx = append(p.fitIdx, i)
		}
		if p.sample > 0 && found == p.sample {
			break
		}
	}
	if p.sample > 0 && n > 0 {
		p.start = (p.start + walked) % n
	}
	if len(p.fits) == 0 {
		return -1, 0, false
	}
	if pre, ok := pol.(placement.Preparer); ok {
		pol = pre.Prepare(p.fits, r)
	}
	best, n := -1, 0
	var bestScore float64
	var bestSet placement.CardSet
	for _, i := range p.fitIdx {
		pl := p.evaluate(i, r, pol)
		switch {
		case best < 0 || pl.Score > bestScore:
			best, bestScore, bestSet, n = i, pl.Score, pl.Cards, 1
		case pl.Score == bestScore && p.rank != nil:
			if p.rank[i] < p.rank[best] {
				best, bestSet = i, pl.Cards
			}
		case pl.Score == bestScore:
			// reservoir sampling: each of the n equal nodes is kept with chance 1/n
			n++
			if p.ties.intn(n) == 0 {
				best, bestSet = i, pl.Cards
			}
		}
	}
	return best, bestSet, true
}

func cloneNodes(nodes []placement.Node) []placement.Node {
	out := make([]placement.Node, len(nodes))
	copy(out, nodes)
	for i := range out {
		out[i].Cards = append([]placement.Card(nil), nodes[i].Cards...)
	}
	return out
}
