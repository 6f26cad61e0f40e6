package placement

import (
	"math/rand/v2"
	"testing"
)

// The cache returns what evaluating afresh returns, as nodes, requests and
// the learned mix change.
func TestAutoCacheMatchesEvaluate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	a := NewAuto(AutoOptions{})
	reqs := []*Request{req(Whole(1), 4000, 8192), req(Share(470, 0), 2000, 4096), req(Whole(2, "T4"), 8000, 1024), req(Request{}, 12000, 2048)}
	nodes := make([]*Node, 40)
	for i := range nodes {
		n := randomNode(r)
		nodes[i] = &n
	}
	for round := 0; round < 400; round++ {
		q := reqs[r.IntN(len(reqs))]
		a.Observe(q)
		var fits []*Node
		for _, n := range nodes {
			if Check(n, q).OK() {
				fits = append(fits, n)
			}
		}
		view := a.Prepare(fits, q).(autoView)
		for _, n := range fits {
			got := view.Evaluate(n, q)
			want := a.evaluate(view.w, view.m, n, q)
			if got != want {
				t.Fatalf("round %d: cached %+v, fresh %+v", round, got, want)
			}
		}
		if len(fits) > 0 { // something changes, as a bind would
			n := fits[r.IntN(len(fits))]
			if err := n.Assign(q, view.Evaluate(n, q).Cards); err != nil {
				t.Fatal(err)
			}
		}
	}
}
