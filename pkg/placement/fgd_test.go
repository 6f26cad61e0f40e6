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
// F = 1000 - 500 = 500, ΔF = +250. FGD takes card 0 and scores, as the
// paper's score plugin, ⌊100·sigmoid(250/1000)⌋ = 56.
func TestFGDHandComputed(t *testing.T) {
	w := NewWorkload([]Class{{Cards: 1, Milli: 1000, Weight: 1}, {Cards: 1, Milli: 500, Weight: 1}})
	n := makeNode("n", "T4", 2).withUsed(0, 500).build()
	if f := w.Fragmentation(n); math.Abs(f-250) > 1e-9 {
		t.Fatalf("F = %v, want 250", f)
	}
	pl := FGD(w).Evaluate(n, req(Share(500, 0), 0, 0))
	if pl.Cards != CardSetOf(0) || pl.Score != 56 {
		t.Fatalf("FGD places the share on %v scoring %v, want {0} and 56", pl.Cards, pl.Score)
	}
}

// The paper's score plugin turns the decrease of fragmentation g (milli)
// into the integer ⌊100·sigmoid(g/1000)⌋: no change is 50, any growth of
// less than about 40 milli is 49, a whole card's growth is 26.
func TestPaperScore(t *testing.T) {
	for _, c := range []struct{ gain, want float64 }{
		{0, 50}, {30, 50}, {-1, 49}, {-20, 49}, {-41, 48}, {250, 56}, {-1000, 26}, {-8000, 0}, {8000, 99},
	} {
		if got := paperScore(c.gain); got != c.want {
			t.Errorf("paperScore(%v) = %v, want %v", c.gain, got, c.want)
		}
	}
}

// A share goes to the first card of the best integer score, as in the
// paper's simulator, even where the exact ΔF prefers a later card. Mix:
// 0.5 shares (weight .97), 0.993 (.02) and 0.99 (.01); cards with 995 and
// 992 free; a 0.005 share. On card 0 the 0.993 class loses card 0: gain
// 5 - .97·5 - .02·995 - .01·5 = -19.8 (score 49). On card 1 the 0.99 class
// loses card 1: gain 5 - .97·5 - .01·992 = -9.77 (score 49). Equal: card 0.
func TestFGDShareFirstCardOfBestScore(t *testing.T) {
	w := NewWorkload([]Class{{Cards: 1, Milli: 500, Weight: .97}, {Cards: 1, Milli: 993, Weight: .02}, {Cards: 1, Milli: 990, Weight: .01}})
	n := makeNode("n", "T4", 2).withUsed(0, 5).withUsed(1, 8).build()
	pl := FGD(w).Evaluate(n, req(Share(5, 0), 0, 0))
	if pl.Cards != CardSetOf(0) || pl.Score != 49 {
		t.Fatalf("FGD places the share on %v scoring %v, want {0} and 49", pl.Cards, pl.Score)
	}
}

// BestFit as the paper's simulator scores it: ⌊100·(1 - (½·CPU left/128
// cores + ½·GPU left/8 cards))⌋. A node with 500 CPU milli more left is
// no worse once truncated.
func TestBestFitPaperScore(t *testing.T) {
	r := req(Whole(1), 8000, 0)
	for _, c := range []struct {
		cpu  int64
		want float64
	}{
		{64000, 59}, // ½·56/128 + ½·3/8 = .40625: 59.375
		{64500, 59}, // ½·56.5/128 + ½·3/8 = .4082: 59.18
		{96000, 46}, // ½·88/128 + ½·3/8 = .53125: 46.875
	} {
		n := makeNode("n", "T4", 4).withHost(c.cpu, 0, 256*1024, 0).build()
		if pl := BestFit().Evaluate(n, r); pl.Score != c.want || pl.Cards != CardSetOf(0) {
			t.Errorf("CPU %d: score %v on %v, want %v on {0}", c.cpu, pl.Score, pl.Cards, c.want)
		}
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
