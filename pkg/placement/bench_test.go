package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchCluster is n nodes of 8 cards, half-full at random, and an auto
// policy that has learned a trace-like mix.
func benchCluster(n int) ([]*Node, *Auto, *Workload) {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	types := []string{"V100", "T4", "A100"}
	nodes := make([]*Node, n)
	for i := range nodes {
		b := makeNode(fmt.Sprintf("node-%d", i), types[i%len(types)], 8).withHost(96000, int64(r.IntN(64))*1000, 384*1024, int64(r.IntN(256))*1024)
		for k := 0; k < 8; k++ {
			switch r.IntN(4) {
			case 0:
				b.withUsed(k, 1000)
			case 1:
				b.withUsed(k, int64(r.IntN(10))*100)
			}
		}
		nodes[i] = b.build()
	}
	a := NewAuto(AutoOptions{})
	var tally Tally
	mix := []Request{Whole(1), Whole(1), Whole(1), Whole(2), Whole(8), Share(810, 0), Share(470, 0), Share(320, 0), Share(650, 0), Share(230, 0), Whole(1, "T4"), {}}
	for i := 0; i < 2000; i++ {
		q := mix[r.IntN(len(mix))]
		q.CPUMilli, q.MemoryMiB = int64(r.IntN(16))*1000, int64(r.IntN(64))*1024
		a.Observe(&q)
		tally.Add(&q, 1)
	}
	return nodes, a, NewWorkload(tally.Top(0.95, 0))
}

// BenchmarkFilterPrioritize is the extender's work for one pod: Check every
// node (filter), then score the ones that fit and map the scores to 0..10
// (prioritize). After each pod one node changes, as a bind changes it, so
// auto scores most nodes from its cache. The "cold" auto scores every node
// afresh: the cost right after the learned mix was recompiled (every 5% of
// the requests seen) or for a request never seen.
func BenchmarkFilterPrioritize(b *testing.B) {
	for _, size := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) { benchFilterPrioritize(b, size) })
	}
}

func benchFilterPrioritize(b *testing.B, size int) {
	nodes, auto, w := benchCluster(size)
	for _, p := range []Policy{auto, coldAuto{auto}, FGD(w), Binpack()} {
		for _, q := range []*Request{req(Share(470, 0), 4000, 8192), req(Whole(1), 8000, 16384)} {
			name := p.Name()
			if _, cold := p.(coldAuto); cold {
				name = "auto-cold"
			}
			b.Run(fmt.Sprintf("%s/%s", name, q), func(b *testing.B) {
				fits := make([]*Node, 0, len(nodes))
				raw := make([]float64, len(nodes))
				out := make([]int64, len(nodes))
				i := 0
				for b.Loop() {
					fits = fits[:0]
					for _, n := range nodes {
						if Check(n, q).OK() {
							fits = append(fits, n)
						}
					}
					pol := p
					if pre, ok := p.(Preparer); ok {
						pol = pre.Prepare(fits, q)
					}
					ScoreNodes(pol, fits, q, raw[:len(fits)], out[:len(fits)])
					// a bind changes one node
					c := &nodes[i%len(nodes)].Cards[7]
					c.UsedMilli = 500 - c.UsedMilli%1000 // 0 <-> 500, the rest toward them
					c.UsedMemoryMiB = 0
					i++
				}
			})
		}
	}
}

// coldAuto is auto without its cache.
type coldAuto struct{ a *Auto }

func (c coldAuto) Name() string { return PolicyAuto }

func (c coldAuto) Evaluate(n *Node, r *Request) Placement {
	return c.a.evaluate(c.a.Workload(), c.a.m, n, r)
}

func (c coldAuto) Prepare(nodes []*Node, r *Request) Policy {
	v := c.a.Prepare(nodes, r).(autoView)
	return coldView{v}
}

type coldView struct{ v autoView }

func (c coldView) Name() string { return PolicyAuto }

func (c coldView) Evaluate(n *Node, r *Request) Placement { return c.v.a.evaluate(c.v.w, c.v.m, n, r) }

func BenchmarkEvaluate(b *testing.B) {
	nodes, auto, w := benchCluster(64)
	q := req(Share(470, 0), 4000, 8192)
	for _, p := range []Policy{auto, FGD(w), Binpack(), Spread(), BestFit()} {
		b.Run(p.Name(), func(b *testing.B) {
			i := 0
			for b.Loop() {
				n := nodes[i%len(nodes)]
				i++
				if Check(n, q).OK() {
					p.Evaluate(n, q)
				}
			}
		})
	}
}
