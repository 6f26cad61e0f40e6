package placement

import (
	"math"
	"slices"
	"sync"
	"testing"
)

// auto knows only what it was shown: before any request it has no mix, and
// its mix holds exactly the classes observed.
func TestAutoLearnsOnlyWhatItObserved(t *testing.T) {
	a := NewAuto(AutoOptions{Coverage: 1})
	n := makeNode("n", "T4", 8).build()
	eight := req(Whole(8), 0, 0)
	one := req(Whole(1), 0, 0)
	if a.Workload().Len() != 0 {
		t.Fatalf("a new auto has a mix of %d classes", a.Workload().Len())
	}
	// With no mix, breaking up an idle 8-card node costs nothing yet.
	if got := a.Evaluate(n, one).Score; got != 1000 {
		t.Fatalf("score with no mix = %v, want the request's own 1000 milli", got)
	}
	a.Observe(eight)
	a.Observe(one)
	if a.Workload().Len() != 2 {
		t.Fatalf("mix has %d classes after two observations, want 2", a.Workload().Len())
	}
	// Now the 8-card class loses its only node: a whole card here costs.
	if got := a.Evaluate(n, one).Score; got >= 1000 {
		t.Fatalf("score after learning = %v, want below 1000", got)
	}
}

func TestAutoLoadAware(t *testing.T) {
	a := NewAuto(AutoOptions{})
	a.Observe(req(Share(300, 0), 0, 0))
	share := req(Share(300, 0), 0, 0)
	busyFirst := makeNode("n", "T4", 2).withLoad(0, 0.9).withLoad(1, 0.1).build()
	if got := a.Evaluate(busyFirst, share).Cards; got != CardSetOf(1) {
		t.Errorf("share goes to %v, want the idle card {1}", got)
	}
	stale := makeNode("n", "T4", 2).withLoad(0, 0.9).withLoad(1, 0.1).build()
	stale.LoadFresh = false
	if got := a.Evaluate(stale, share).Cards; got != CardSetOf(0) {
		t.Errorf("with stale load the share goes to %v, want the first card {0}", got)
	}
	off := NewAuto(AutoOptions{LoadWeight: -1})
	off.Observe(share)
	if got := off.Evaluate(busyFirst, share).Cards; got != CardSetOf(0) {
		t.Errorf("load-awareness off: share goes to %v, want {0}", got)
	}
	idle := makeNode("idle", "T4", 2).withLoad(0, 0).withLoad(1, 0).build()
	busy := makeNode("busy", "T4", 2).withLoad(0, 1).withLoad(1, 1).build()
	if i, b := a.Evaluate(idle, share).Score, a.Evaluate(busy, share).Score; i <= b {
		t.Errorf("idle node scores %v, busy node %v; want the idle one higher", i, b)
	}
}

// A type in short supply weighs more: one free T4 card for a T4 demand as
// large as the untyped one, against nine free cards of another type.
func TestTypePressure(t *testing.T) {
	w := NewWorkload([]Class{{Cards: 1, Milli: 1000, Weight: 1}, {Cards: 1, Milli: 1000, Types: []string{"T4"}, Weight: 1}})
	nodes := []*Node{makeNode("t4", "T4", 1).build(), makeNode("v100", "V100", 9).build()}
	scale := w.typePressure(nodes, 1, 100)
	var typed, untyped float64
	for i, s := range w.shapes {
		if len(s.types) > 0 {
			typed = scale[i]
		} else {
			untyped = scale[i]
		}
	}
	// untyped demand 500 over 10000 free overall; T4: 500 over 1000, ten
	// times that
	if math.Abs(typed-10) > 1e-9 || untyped != 1 {
		t.Fatalf("scales: typed %v, untyped %v; want 10 and 1", typed, untyped)
	}
	if got := w.typePressure(nodes, 1, 2); got != nil && got[0]*got[1] > 2 {
		t.Errorf("limit not applied: %v", got)
	}
	if NewWorkload([]Class{{Cards: 1, Milli: 1000, Weight: 1}}).typePressure(nodes, 1, 100) != nil {
		t.Error("a mix without typed classes needs no scale")
	}
}

// A type whose typed demand nearly fills it is pressed even while its share
// of the free cores still exceeds its share of the demand: untyped work has
// the rest of the cluster, typed work only that type. Here T4-only requests
// are 12% of the demand and T4 cards 13.6% of the free cores; the untyped
// 74% of the demand has all the cores.
func TestTypePressureAgainstFlexibleDemand(t *testing.T) {
	w := NewWorkload([]Class{
		{Cards: 1, Milli: 1000, Weight: 74},
		{Cards: 1, Milli: 1000, Types: []string{"T4"}, Weight: 12},
		{Cards: 1, Milli: 1000, Types: []string{"P100"}, Weight: 14},
	})
	var free TypeFree
	free.AddType("T4", 136_000)
	free.AddType("P100", 140_000)
	free.AddType("G2", 724_000)
	scale := w.typePressureOf(&free, 1, 100)
	for i, s := range w.shapes {
		want := 1.0
		switch {
		case slices.Equal(s.types, []string{"T4"}):
			want = (12.0 / 136_000) / (74.0 / 1_000_000) // 1.19
		case slices.Equal(s.types, []string{"P100"}):
			want = (14.0 / 140_000) / (74.0 / 1_000_000) // 1.35
		}
		if math.Abs(scale[i]-want) > 1e-9 {
			t.Errorf("shape %v: scale %v, want %v", s.types, scale[i], want)
		}
	}
	allTyped := NewWorkload([]Class{{Cards: 1, Milli: 1000, Types: []string{"T4"}, Weight: 1}, {Cards: 1, Milli: 1000, Types: []string{"G2"}, Weight: 1}})
	if got := allTyped.typePressureOf(&free, 1, 100); got == nil {
		t.Error("a mix of typed shapes only got no pressure; want it measured against the whole demand")
	}
}

// Prepared auto sends untyped work away from the type typed work is short of.
func TestAutoPrepareKeepsScarceTypes(t *testing.T) {
	a := NewAuto(AutoOptions{Coverage: 1})
	for i := 0; i < 10; i++ {
		a.Observe(req(Whole(1, "T4"), 0, 0))
		a.Observe(req(Whole(1), 0, 0))
	}
	t4 := makeNode("t4", "T4", 4).build()
	v100 := makeNode("v100", "V100", 4).withUsed(0, 1000).withUsed(1, 1000).build()
	untyped := req(Whole(1), 0, 0)
	p := a.Prepare([]*Node{t4, v100}, untyped)
	if s1, s2 := p.Evaluate(t4, untyped).Score, p.Evaluate(v100, untyped).Score; s1 >= s2 {
		t.Errorf("untyped card scores %v on T4, %v on V100; want V100 preferred", s1, s2)
	}
}

// Observe and Evaluate may run at once (the extender learns while serving).
func TestAutoConcurrent(t *testing.T) {
	a := NewAuto(AutoOptions{HalfLife: 100})
	n := makeNode("n", "T4", 4).withUsed(0, 300).build()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				r := req(Share(int64(100+i%7*100), 0), int64(i%5)*1000, 0)
				a.Observe(r)
				p := a.Prepare([]*Node{n}, r)
				_ = p.Evaluate(n, r)
			}
		}()
	}
	wg.Wait()
	if a.Workload().Len() == 0 {
		t.Fatal("nothing learned")
	}
}

func TestStickyScale(t *testing.T) {
	last := &scaleMemo{version: 3, scale: []float64{1, 2}}
	if got, kept := stickyScale(last, 3, []float64{1.05, 1.9}); !kept || &got[0] != &last.scale[0] {
		t.Errorf("within 10%%: got %v kept %v, want the last scales", got, kept)
	}
	if got, kept := stickyScale(last, 3, []float64{1, 2.3}); kept || got[1] != 2.3 {
		t.Errorf("beyond 10%%: got %v kept %v, want the new scales", got, kept)
	}
	if _, kept := stickyScale(last, 4, []float64{1, 2}); kept {
		t.Error("scales kept across mix snapshots")
	}
	if _, kept := stickyScale(nil, 3, []float64{1}); kept {
		t.Error("scales kept with nothing before")
	}
}
