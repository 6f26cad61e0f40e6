package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TypeFree counted in any order and merged from any chunks gives exactly the
// pressure of walking the nodes, so that filter-best, which counts while it
// checks the candidates in parallel, scores as prioritize does.
func TestTypePressureOfCountedFree(t *testing.T) {
	w := NewWorkload([]Class{
		{Cards: 1, Milli: 1000, Weight: 3},
		{Cards: 1, Milli: 500, Types: []string{"T4"}, Weight: 2},
		{Cards: 2, Milli: 1000, Types: []string{"V100", "A100"}, Weight: 1},
		{Cards: 1, Milli: 250, Types: []string{"A100"}, Weight: 0.7},
	})
	types := []string{"T4", "V100", "A100", "P100"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, count := range []int{1, 2, 7, 300} {
		t.Run(fmt.Sprintf("nodes=%d", count), func(t *testing.T) {
			nodes := make([]*Node, count)
			for i := range nodes {
				b := makeNode(fmt.Sprint("n", i), types[rng.IntN(len(types))], 1+rng.IntN(8))
				if rng.IntN(3) == 0 {
					b.withCard(types[rng.IntN(len(types))])
				}
				for k := range b.n.Cards {
					b.withUsed(k, int64(rng.IntN(11))*100)
				}
				nodes[i] = b.build()
			}
			want := w.typePressure(nodes, 1.5, 4)
			if want == nil {
				t.Fatal("no pressure: the test's mix must have typed shapes")
			}
			for _, chunks := range []int{1, 2, 5} {
				shuffled := slices.Clone(nodes)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				parts := make([]TypeFree, chunks)
				for i, n := range shuffled {
					parts[i%chunks].Add(n)
				}
				for i := 1; i < chunks; i++ {
					parts[0].Merge(&parts[i])
				}
				if got := w.typePressureOf(&parts[0], 1.5, 4); !slices.Equal(got, want) {
					t.Errorf("%d chunks: pressure %v, want %v", chunks, got, want)
				}
			}
		})
	}
	var empty TypeFree
	if got := w.typePressureOf(&empty, 1.5, 4); got != nil {
		t.Errorf("no nodes: pressure %v, want none", got)
	}
}

// Auto prepared from counted free cards evaluates every node as auto
// prepared from the nodes.
func TestAutoPrepareFree(t *testing.T) {
	a := NewAuto(AutoOptions{Coverage: 1})
	for i := 0; i < 10; i++ {
		a.Observe(req(Whole(1, "T4"), 0, 0))
		a.Observe(req(Whole(1), 0, 0))
		a.Observe(req(Share(300, 0, "V100"), 0, 0))
	}
	nodes := []*Node{
		makeNode("t4", "T4", 4).withUsed(1, 400).build(),
		makeNode("v100", "V100", 4).withUsed(0, 1000).withUsed(1, 1000).build(),
		makeNode("mixed", "V100", 2).withCard("T4").withUsed(2, 700).build(),
	}
	for _, r := range []*Request{req(Whole(1), 0, 0), req(Share(300, 0, "V100"), 0, 0), req(Whole(1, "T4"), 0, 0)} {
		var free TypeFree
		for _, n := range nodes {
			free.Add(n)
		}
		byNodes, byFree := a.Prepare(nodes, r), a.PrepareFree(&free, r)
		for _, n := range nodes {
			if x, y := byNodes.Evaluate(n, r), byFree.Evaluate(n, r); x.Score != y.Score || x.Cards != y.Cards {
				t.Errorf("%s on %s: prepared from free cards %+v, from the nodes %+v", r, n.Name, y, x)
			}
		}
	}
}
