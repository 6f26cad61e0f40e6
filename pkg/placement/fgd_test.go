package placement

import (
	"math"
	"testing"
)

// A hand-computed case. Mix: half whole cards, half 0.5 shares. Node: card 0
// holds a 0.5 share, card 1 is idle, so free = 1500, usable = 0.5*1500 (a
// share fits both cards) + 0.5*1000 (a whole card fits card 1) = 1250 and
// F = 250. A new 0.5 share on card 0 leaves free 1000, all usable: F = 0,
// ΔF = -250. On card 1 it leaves two half cards, usable by shares only:
// F = 1000 - 500 = 500, ΔF = +250. FGD takes card 0 and scores 250.
func TestFGDHandComputed(t *testing.T) {
	w := NewWorkload([]Class{{Cards: 1, Milli: 1000, Weight: 1}, {Cards: 1, Milli: 500, Weight: 1}})
	n := makeNode("n", "T4", 2).withUsed(0, 500).build()
	if f := w.Fragmentation(n); math.Abs(f-250) > 1e-9 {
		t.Fatalf("F = %v, want 250", f)
	}
	pl := FGD(w).Evaluate(n, req(Share(500, 0), 0, 0))
	if pl.Cards != CardSetOf(0) || math.Abs(pl.Score-250) > 1e-9 {
		t.Fatalf("FGD places the share on %v scoring %v, want {0} and 250", pl.Cards, pl.Score)
	}
}

// CPU counts: a class that no longer fits the node's CPU finds every free
// card a fragment, so FGD keeps CPU-hungry pods off a node whose GPUs need
// that CPU.
func TestFGDCountsCPU(t *testing.T) {
	w := NewWorkload([]Class{{Cards: 1, Milli: 1000, CPUMilli: 8000, Weight: 1}})
	tight := makeNode("tight", "T4", 2).withHost(16000, 0, 0, 0).build()
	roomy := makeNode("roomy", "T4", 2).withHost(64000, 0, 0, 0).build()
	cpuOnly := req(Request{}, 10000, 0)
	p := FGD(w)
	if t1, r1 := p.Evaluate(tight, cpuOnly).Score, p.Evaluate(roomy, cpuOnly).Score; t1 >= r1 {
		t.Errorf("a CPU-only pod scores %v on the CPU-tight node, %v on the roomy one; want it kept off the tight one", t1, r1)
	}
}

func TestWorkloadTop(t *testing.T) {
	var tally Tally
	add := func(r Request, n int) {
		for i := 0; i < n; i++ {
			tally.Add(&r, 1)
		}
	}
	add(Whole(1), 60)
	add(Share(500, 0), 30)
	add(Whole(8), 6)
	add(Share(500, 0, "T4"), 4)
	if tally.Len() != 4 || tally.Total() != 100 {
		t.Fatalf("Len %d Total %v", tally.Len(), tally.Total())
	}
	top := tally.Top(0.95, 0)
	if len(top) != 3 || top[0].Cards != 1 || top[0].Milli != 1000 || top[2].Cards != 8 {
		t.Fatalf("Top(0.95) = %+v, want whole, share, 8 cards", top)
	}
	if math.Abs(top[0].Weight-60.0/96) > 1e-12 {
		t.Errorf("weights not renormalised: %v", top[0].Weight)
	}
	if all := tally.Top(1, 0); len(all) != 4 || all[3].Types[0] != "T4" {
		t.Errorf("Top(1) = %+v", all)
	}
	if NewWorkload(nil).Len() != 0 || NewWorkload(tally.Top(1, 0)).Len() != 4 {
		t.Error("Workload.Len")
	}
}
