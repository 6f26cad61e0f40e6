package sim

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// handmadeNodes: 2 T4 on node a, 4 V100 on node b: 6000 milli of GPU.
const handmadeNodes = `sn,cpu_milli,memory_mib,gpu,model
a,8000,32768,2,T4
b,16000,65536,4,V100
`

// handmadePods, placed in file order with binpack (fullest node first, a
// share on the tightest card), go as follows:
//
//	p1 2 V100 cards      -> b cards 0,1   arrived 2000 (33.3%)
//	p2 0.5               -> b card 2      (b 62.5% full after it, a 25%)
//	p3 0.5               -> b card 2      (card 2 now full)
//	p4 1 T4 card         -> a card 0      arrived 4000
//	p5 CPU only, 1 core  -> a             (a 62.5% of CPU used after it, b 31%)
//	p6 1 card, 4 cores   -> b card 3      (a has 3 cores left) arrived 5000
//	p7 0.4, 1 core       -> a card 1      arrived 5400 = 90% exactly: 90% allocated
//	p8 2 V100 cards      -> fails         arrived 7400 = 123%: 100/110/120 at 90% allocated
//	p9 0.6 T4            -> a card 1      arrived 8000 = 133%: 130 at 100% allocated
const handmadePods = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec
p1,2000,4096,2,1000,V100
p2,1000,2048,1,500,
p3,1000,2048,1,500,
p4,4000,8192,1,1000,T4
p5,1000,1024,0,0,
p6,4000,4096,1,1000,
p7,1000,2048,1,400,
p8,2000,4096,2,1000,V100
p9,500,1024,1,600,T4
`

func handmadeTrace(t *testing.T) *Trace {
	t.Helper()
	nodes, err := ReadNodes(strings.NewReader(handmadeNodes))
	if err != nil {
		t.Fatal(err)
	}
	pods, err := ReadPods(strings.NewReader(handmadePods))
	if err != nil {
		t.Fatal(err)
	}
	return &Trace{Nodes: nodes, Pods: pods}
}

// The protocol on a trace small enough to follow by hand: exact placements,
// the drop of a pod that fits nowhere, the allocation right after the first
// pod at or beyond each arrived threshold (First), and the paper script's
// reading (At): the bucket of 90% holds p7 alone; no pod rounds to 100..130
// or a neighbour, so those fall back to First.
func TestReplayHandmadeTrace(t *testing.T) {
	tr := handmadeTrace(t)
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	res, err := Replay(tr.Nodes, tr.Pods, order, placement.Binpack(), 1, TiesRandom)
	if err != nil {
		t.Fatal(err)
	}
	if res.GPUs != 6 || res.Placed != 8 || res.Failed != 1 || res.ArrivedMilli != 8000 || res.PlacedMilli != 6000 {
		t.Fatalf("result %+v, want 6 GPUs, 8 placed, 1 failed, 8000 arrived, 6000 placed", res)
	}
	want := []float64{90, 90, 90, 90, 100}
	for k := range want {
		if !res.Reached[k] || math.Abs(res.First[k]-want[k]) > 1e-9 || math.Abs(res.At[k]-want[k]) > 1e-9 {
			t.Errorf("allocation at %d%% arrived = %v, first %v (reached %v), want %v", Thresholds()[k], res.At[k], res.First[k], res.Reached[k], want[k])
		}
	}
	// The curve: p1 arrives at 33.3% with 33.3% allocated, p5 leaves both at
	// 66.7%, nothing rounds to 70.
	if len(res.Curve) != 134 || math.Abs(res.Curve[33]-100.0/3) > 1e-9 || math.Abs(res.Curve[67]-200.0/3) > 1e-9 || !math.IsNaN(res.Curve[70]) {
		t.Errorf("curve %v", res.Curve)
	}
	// Replay works on a copy: the trace's nodes are untouched.
	for _, n := range tr.Nodes {
		if n.UsedGPUMilli() != 0 || n.UsedCPUMilli != 0 {
			t.Fatalf("Replay changed the input node %s", n.Name)
		}
	}
}

// The same placements, card by card, seen from the cluster the replay built.
func TestReplayHandmadePlacements(t *testing.T) {
	tr := handmadeTrace(t)
	cluster := cloneNodes(tr.Nodes)
	pk := newPicker(cluster, 1)
	type placed struct {
		node  string
		cards []int
	}
	want := []placed{
		{"b", []int{0, 1}}, {"b", []int{2}}, {"b", []int{2}}, {"a", []int{0}}, {"a", nil},
		{"b", []int{3}}, {"a", []int{1}}, {"", nil}, {"a", []int{1}},
	}
	for k, w := range want {
		r := &tr.Pods[k].Request
		best, set, ok := pk.pick(r, placement.Binpack())
		got := placed{}
		if ok {
			got = placed{cluster[best].Name, set.Positions()}
			if err := cluster[best].Assign(r, set); err != nil {
				t.Fatal(err)
			}
			pk.summarise(best)
		}
		if got.node != w.node || !slices.Equal(got.cards, w.cards) && len(got.cards)+len(w.cards) > 0 {
			t.Errorf("%s went to %q cards %v, want %q cards %v", tr.Pods[k].Name, got.node, got.cards, w.node, w.cards)
		}
	}
}

// Ties among equally good nodes go to one of them at random, the same one
// for the same seed, and not always the first.
// The paper's analysis reads the allocation at arrived % T as the mean over
// the pods whose arrived %, rounded half to even, is T, and over T-1 and
// T+1 when none is.
func TestArrivedBuckets(t *testing.T) {
	var b arrivedBuckets
	for _, p := range [][2]float64{{99.4, 90}, {99.6, 91}, {100.4, 93}, {100.5, 94}, {101.5, 95}, {103.2, 96}, {105, 97}} {
		b.add(p[0], p[1])
	}
	for _, c := range []struct {
		t    int
		want float64
		ok   bool
	}{
		{99, 90, true},
		{100, (91 + 93 + 94) / 3.0, true},
		{101, (91 + 93 + 94 + 95) / 4.0, true}, // empty: 100 and 102 (101.5 rounds to 102)
		{102, 95, true},
		{104, (96 + 97) / 2.0, true},
		{107, 0, false},
		{3, 0, false},
	} {
		got, ok := b.at(c.t)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("at(%d) = %v, %v; want %v, %v", c.t, got, ok, c.want, c.ok)
		}
	}
}

// With TiesFirstName, as in the paper's simulator, equal best scores go to
// the node whose name sorts first, whatever the seed and the list order.
func TestTiesFirstName(t *testing.T) {
	nodes, err := ReadNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\nnode-b,8000,32768,2,T4\nnode-c,8000,32768,2,T4\nnode-a,8000,32768,2,T4\n"))
	if err != nil {
		t.Fatal(err)
	}
	pods, err := ReadPods(strings.NewReader("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np,1000,1024,1,1000,\n"))
	if err != nil {
		t.Fatal(err)
	}
	for seed := int64(1); seed <= 20; seed++ {
		pk := newPicker(cloneNodes(nodes), seed)
		pk.rank = tieRanks(pk.cluster, TiesFirstName, seed)
		if best, _, ok := pk.pick(&pods[0].Request, placement.Binpack()); !ok || nodes[best].Name != "node-a" {
			t.Fatalf("seed %d: pod on node %d, want node-a", seed, best)
		}
	}
	if _, err := ParseTies("first"); err == nil {
		t.Error("ParseTies accepted first")
	}
}

// With TiesShuffled, as in the paper's simulator, every node gets a place in
// an order drawn once per seed; equal best scores go to the node first in
// it. The order is one of the names, not of the list: the same nodes listed
// otherwise get the same places.
func TestTiesShuffled(t *testing.T) {
	const csv = "sn,cpu_milli,memory_mib,gpu,model\n"
	rows := []string{"n3,8000,32768,2,T4", "n1,8000,32768,2,T4", "n5,8000,32768,2,T4", "n0,8000,32768,2,T4", "n4,8000,32768,2,T4", "n2,8000,32768,2,T4"}
	nodes, err := ReadNodes(strings.NewReader(csv + strings.Join(rows, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows)
	reversed, err := ReadNodes(strings.NewReader(csv + strings.Join(rows, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	rankOf := func(nodes []placement.Node, rank []int) map[string]int {
		m := map[string]int{}
		for i := range nodes {
			m[nodes[i].Name] = rank[i]
		}
		return m
	}
	pods := []Pod{{Name: "p", Request: placement.Whole(1)}}
	firsts := map[string]bool{}
	for seed := int64(0); seed < 20; seed++ {
		rank := tieRanks(nodes, TiesShuffled, seed)
		if got := slices.Sorted(slices.Values(rank)); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
			t.Fatalf("seed %d: ranks %v, want a permutation of 0..5", seed, rank)
		}
		if a, b := rankOf(nodes, rank), rankOf(reversed, tieRanks(reversed, TiesShuffled, seed)); !maps.Equal(a, b) {
			t.Fatalf("seed %d: ranks by name %v, with the list reversed %v", seed, a, b)
		}
		res, err := ReplayWith(nodes, pods, []int{0}, placement.Binpack(), seed, ReplayOptions{Ties: TiesShuffled, Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Nodes[0]; rank[got] != 0 {
			t.Fatalf("seed %d: pod on %s of rank %d, want the node of rank 0 (ranks %v)", seed, nodes[got].Name, rank[got], rankOf(nodes, rank))
		}
		firsts[nodes[res.Nodes[0]].Name] = true
	}
	if len(firsts) < 3 {
		t.Errorf("20 seeds put the pod on %v only: the order is not drawn", firsts)
	}
	if got, err := ParseTies("shuffled"); err != nil || got != TiesShuffled {
		t.Errorf("ParseTies(shuffled) = %v, %v", got, err)
	}
}

func TestReplayTiesAreSeeded(t *testing.T) {
	nodes, err := ReadNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\na,0,0,1,T4\nb,0,0,1,T4\nc,0,0,1,T4\nd,0,0,1,T4\n"))
	if err != nil {
		t.Fatal(err)
	}
	pods := []Pod{{Name: "p", Request: placement.Whole(1)}}
	firsts := map[string]bool{}
	for seed := int64(0); seed < 20; seed++ {
		pk := newPicker(cloneNodes(nodes), seed)
		best, _, _ := pk.pick(&pods[0].Request, placement.Binpack())
		again, _, _ := newPicker(cloneNodes(nodes), seed).pick(&pods[0].Request, placement.Binpack())
		if best != again {
			t.Fatalf("seed %d picked %d then %d", seed, best, again)
		}
		firsts[nodes[best].Name] = true
	}
	if len(firsts) < 2 {
		t.Errorf("20 seeds always picked %v", firsts)
	}
}

// The memoised picker chooses what scoring every fitting node does.
func TestPickerMatchesPlainScoring(t *testing.T) {
	tr := handmadeTrace(t)
	extra, err := ReadNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\nc,8000,32768,2,T4\nd,8000,32768,2,T4\ne,16000,65536,4,V100\n"))
	if err != nil {
		t.Fatal(err)
	}
	nodes := append(cloneNodes(tr.Nodes), extra...)
	auto := placement.NewAuto(placement.AutoOptions{})
	pk := newPicker(nodes, 3)
	for round := 0; round < 3; round++ {
		for k := range tr.Pods {
			r := &tr.Pods[k].Request
			auto.Observe(r)
			var fits []*placement.Node
			for i := range nodes {
				if placement.Check(&nodes[i], r).OK() {
					fits = append(fits, &nodes[i])
				}
			}
			best, set, ok := pk.pick(r, auto)
			if !ok {
				if len(fits) > 0 {
					t.Fatalf("picker found no node for %s, %d fit", tr.Pods[k].Name, len(fits))
				}
				continue
			}
			view := auto.Prepare(fits, r)
			top := math.Inf(-1)
			for _, n := range fits {
				top = math.Max(top, view.Evaluate(n, r).Score)
			}
			if got := view.Evaluate(&nodes[best], r); got.Score != top || got.Cards != set {
				t.Fatalf("%s: picker chose %s %v scoring %v, best score is %v", tr.Pods[k].Name, nodes[best].Name, set, got.Score, top)
			}
			if err := nodes[best].Assign(r, set); err != nil {
				t.Fatal(err)
			}
			pk.summarise(best)
		}
	}
}

func TestSummariseJSON(t *testing.T) {
	runs := []Result{
		{GPUs: 6, At: []float64{90, 91, 92, 93, 94}, Reached: []bool{true, true, true, true, true}, Placed: 8, Failed: 1},
		{GPUs: 6, At: []float64{88, 89, 90, 91, 0}, Reached: []bool{true, true, true, true, false}, Placed: 6, Failed: 3},
	}
	s := Summarise("auto", []int64{42, 43}, runs)
	if got, want := s.JSON(), `{"policy":"auto","seeds":"42-43","runs":2,"gpus":6,"allocation_at":{"90":89,"100":90,"110":91,"120":92,"130":94},"allocation_stddev":{"90":1,"100":1,"110":1,"120":1,"130":0},"placed":7,"failed":2}`; got != want {
		t.Errorf("JSON =\n%s\nwant\n%s", got, want)
	}
	one := Summarise("fgd", []int64{7}, runs[1:])
	if got, want := one.JSON(), `{"policy":"fgd","seed":7,"gpus":6,"allocation_at":{"90":88,"100":89,"110":90,"120":91},"placed":6,"failed":3}`; got != want {
		t.Errorf("JSON =\n%s\nwant\n%s", got, want)
	}
}

// kube-scheduler's count of feasible nodes to find (its
// numFeasibleNodesToFind): every node below 100, else the adaptive
// percentage max(5, 50 - n/125), never fewer than 100.
func TestSamplingNodesToFind(t *testing.T) {
	for _, c := range []struct{ pct, n, want int }{
		{0, 50, 50},
		{0, 100, 100},   // 49%: 49 nodes, raised to 100
		{0, 1213, 497},  // 41%
		{0, 4852, 582},  // 12%
		{0, 5000, 500},  // 10%
		{0, 10000, 500}, // 5%
		{100, 5000, 5000},
		{30, 1000, 300},
		{1, 1000, 100},
	} {
		if got := (Sampling{PercentageOfNodesToScore: c.pct}).NodesToFind(c.n); got != c.want {
			t.Errorf("NodesToFind(pct %d, %d nodes) = %d, want %d", c.pct, c.n, got, c.want)
		}
	}
}

// With sampling the policy only sees the first nodes (from a rotating
// start) that pass kube-scheduler's filters: binpack would take the fuller
// node c, but a sample of two from a sees a and b; the next pod's walk
// starts at c and keeps c and e, walking over d, which is short of CPU.
func TestSamplingRotates(t *testing.T) {
	nodes, err := ReadNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\na,8000,32768,2,T4\nb,8000,32768,2,T4\nc,8000,32768,2,T4\nd,500,32768,2,T4\ne,8000,32768,2,T4\n"))
	if err != nil {
		t.Fatal(err)
	}
	nodes[2].Cards[0].UsedMilli = 500 // c is the fullest
	r := placement.Request{Cards: 1, Milli: 100, CPUMilli: 1000}
	pk := newPicker(cloneNodes(nodes), 1)
	pk.rank, pk.sample = tieRanks(pk.cluster, TiesFirstName, 1), 2
	for step, want := range []string{"a", "c", "a", "c"} {
		best, _, ok := pk.pick(&r, placement.Binpack())
		if !ok || pk.cluster[best].Name != want {
			t.Fatalf("pod %d on %v, want %s", step, best, want)
		}
		// undo, so that only the walk's start changes
		pk.cluster[best].Cards = append([]placement.Card(nil), nodes[best].Cards...)
		pk.summarise(best)
	}
	if pk.start != 0 {
		t.Errorf("next walk starts at %d, want 0 (walks: a b | c d e | a b | c d e)", pk.start)
	}
}

// ParseTies accepts exactly the names String gives back.
func FuzzParseTies(f *testing.F) {
	for _, s := range []string{"name", "random", "", "Name", "first"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ties, err := ParseTies(s)
		if err != nil {
			if !strings.Contains(err.Error(), "want name") {
				t.Errorf("error %q does not say what is accepted", err)
			}
			return
		}
		if ties.String() != s {
			t.Errorf("ParseTies(%q) = %v", s, ties)
		}
	})
}
