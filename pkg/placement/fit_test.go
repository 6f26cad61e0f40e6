package placement

import (
	"math/rand/v2"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		node   *Node
		req    *Request
		short  Shortfall
		reason string
	}{
		{"2(V100) on 2 idle V100", makeNode("node-7", "V100", 2).build(), req(Whole(2, "V100"), 0, 0), Fits, ""},
		{"2(V100) never on 1 free V100", makeNode("node-7", "V100", 2).withUsed(0, 1000).build(), req(Whole(2, "V100"), 0, 0),
			ShortCards, "node-7: 1 free V100, pod needs 2"},
		{"a share makes a card not free", makeNode("node-7", "V100", 2).withUsed(1, 100).build(), req(Whole(2), 0, 0),
			ShortCards, "node-7: 1 free V100, pod needs 2"},
		{"type constraint", makeNode("node-3", "T4", 4).build(), req(Whole(1, "V100", "A100"), 0, 0),
			ShortType, "node-3: has T4 cards, pod needs V100 or A100"},
		{"type among alternatives", makeNode("node-3", "A100", 1).build(), req(Whole(1, "V100", "A100"), 0, 0), Fits, ""},
		{"no type constraint", makeNode("node-3", "T4", 1).build(), req(Whole(1), 0, 0), Fits, ""},
		{"share on a part-used card", makeNode("n", "T4", 1).withUsed(0, 500).build(), req(Share(500, 8192), 0, 0), Fits, ""},
		{"share beyond the card's cores", makeNode("n", "T4", 2).withUsed(0, 600).withUsed(1, 1000).build(), req(Share(500, 0), 0, 0),
			ShortShare, "n: no T4 card with 500 milli free (the freest has 400 milli, 6554 MiB), pod needs 0.5"},
		{"share beyond the card's memory", makeNode("n", "T4", 1).withUsed(0, 100).build(), req(Share(100, 16*1024), 0, 0),
			ShortShare, "n: no T4 card with 100 milli and 16384 MiB free (the freest has 900 milli, 14746 MiB), pod needs 0.1(16384Mi)"},
		{"share of a typed card", makeNode("n", "T4", 1).build(), req(Share(300, 0, "V100"), 0, 0), ShortType, "n: has T4 cards, pod needs V100"},
		{"whole card on a vGPU-only node", makeNode("n", "T4", 1).vgpuOnly().build(), req(Whole(1), 0, 0),
			ShortService, "n: does not hand out whole cards, pod needs 1"},
		{"vGPU card on a plain node", makeNode("n", "T4", 1).wholeOnly().build(), req(Request{Cards: 1, Milli: 1000, VGPU: true}, 0, 0),
			ShortService, "n: does not serve vGPU, pod needs 1(VGPU)"},
		{"share on a plain node", makeNode("n", "T4", 1).wholeOnly().build(), req(Share(250, 0), 0, 0),
			ShortService, "n: does not serve vGPU, pod needs 0.25"},
		{"GPU request on a CPU node", makeNode("cpu-1", "", 0).build(), req(Whole(1), 0, 0), ShortNoGPU, "cpu-1: has no GPU, pod needs 1"},
		{"CPU short", makeNode("n", "T4", 1).withHost(8000, 6000, 0, 0).build(), req(Whole(1), 4000, 0),
			ShortCPU, "n: 2000 CPU milli free, pod needs 4000"},
		{"memory short", makeNode("n", "T4", 1).withHost(0, 0, 8192, 8000).build(), req(Whole(1), 0, 1024),
			ShortMemory, "n: 192 MiB memory free, pod needs 1024"},
		{"untracked host resources never short", makeNode("n", "T4", 1).withHost(0, 0, 0, 0).build(), req(Whole(1), 1e9, 1e9), Fits, ""},
		{"CPU-only pod on a full GPU node", makeNode("n", "T4", 1).withUsed(0, 1000).build(), req(Request{}, 1000, 1024), Fits, ""},
		{"whole cards of one type on a mixed node", makeNode("mix", "T4", 1).withCard("V100").withCard("T4").build(), req(Whole(2), 0, 0), Fits, ""},
		{"no two cards of one type", makeNode("mix", "T4", 1).withCard("V100").build(), req(Whole(2), 0, 0),
			ShortCards, "mix: 1 free T4, pod needs 2"},
		{"typed on a mixed node", makeNode("mix", "T4", 1).withCard("V100").build(), req(Whole(1, "A10"), 0, 0),
			ShortType, "mix: has T4|V100 cards, pod needs A10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Check(tc.node, tc.req)
			if v.Short != tc.short || v.Reason() != tc.reason {
				t.Errorf("Check = %v %q, want %v %q", v.Short, v.Reason(), tc.short, tc.reason)
			}
			ok, reason := Fit(tc.node, tc.req)
			if ok != (tc.short == Fits) || reason != tc.reason {
				t.Errorf("Fit = %v %q, want %v %q", ok, reason, tc.short == Fits, tc.reason)
			}
		})
	}
}

// Whatever shares arrive, what the policies place on a card never exceeds
// its 1000 milli nor its memory, and a whole card is only taken idle.
func TestSharesNeverOvercommit(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	w := NewWorkload([]Class{{Cards: 1, Milli: 300, Weight: 2}, {Cards: 1, Milli: 1000, Weight: 1}, {Cards: 2, Milli: 1000, Weight: 1}})
	for _, p := range []Policy{Binpack(), Spread(), BestFit(), FGD(w), NewAuto(AutoOptions{})} {
		t.Run(p.Name(), func(t *testing.T) {
			n := makeNode("n", "V100", 4).build()
			for i := 0; i < 400; i++ {
				var q Request
				switch r.IntN(3) {
				case 0:
					q = Share(int64(r.IntN(999)+1), int64(r.IntN(8192)))
				case 1:
					q = Whole(r.IntN(2) + 1)
				default:
					q = Request{Cards: 1, Milli: 1000, VGPU: true}
				}
				set, err := Choose(p, n, &q)
				if err != nil {
					continue
				}
				if err := n.Assign(&q, set); err != nil {
					t.Fatalf("%s chose %v for %s, which does not fit: %v", p.Name(), set, q.String(), err)
				}
				for k := range n.Cards {
					c := &n.Cards[k]
					if c.UsedMilli > MilliPerCard || c.UsedMemoryMiB > c.MemoryMiB {
						t.Fatalf("card %d over-committed: %d milli, %d of %d MiB", k, c.UsedMilli, c.UsedMemoryMiB, c.MemoryMiB)
					}
				}
				if r.IntN(4) == 0 { // let something go, so the node does not just fill up
					if err := n.Unassign(&q, set); err != nil {
						t.Fatalf("Unassign: %v", err)
					}
				}
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	n := makeNode("n", "V100", 8).withUsed(0, 1000).withUsed(1, 300).build()
	q := req(Share(500, 4096), 4000, 8192)
	for b.Loop() {
		if !Check(n, q).OK() {
			b.Fatal("does not fit")
		}
	}
}

// FuzzCheckSummarized holds CheckSummarized to Check and
// ResolvableSummarized to Resolvable: on any node, for any request, the
// summary gives the very answers the cards give.
func FuzzCheckSummarized(f *testing.F) {
	f.Add(uint64(1), uint8(2), uint16(0), uint8(0))
	f.Add(uint64(7), uint8(8), uint16(500), uint8(3))
	f.Add(uint64(42), uint8(1), uint16(1000), uint8(0xff))
	f.Fuzz(checkSummarizedAgrees)
}

// TestCheckSummarized is FuzzCheckSummarized's property on a few thousand
// drawn cases, so that every test run holds it.
func TestCheckSummarized(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		checkSummarizedAgrees(t, r.Uint64(), uint8(r.Uint32()), uint16(r.Uint32()), uint8(r.Uint32()))
	}
}

// checkSummarizedAgrees draws a node and a request from its arguments and
// fails unless CheckSummarized and Check agree on them.
func checkSummarizedAgrees(t *testing.T, seed uint64, cards uint8, milli uint16, flags uint8) {
	r := rand.New(rand.NewPCG(seed, uint64(flags)))
	n := randomNode(r)
	if flags&1 != 0 {
		n.Cards = nil
	}
	n.WholeCards, n.VGPU = flags&2 == 0, flags&4 == 0
	for i := range n.Cards {
		if r.IntN(4) == 0 {
			n.Cards[i].UsedMemoryMiB = 1024 // memory taken with no cores: not idle
		}
	}
	types := [][]string{nil, {"V100"}, {"T4", "V100"}, {"P100"}, {"A100"}}[int(flags>>4)%5]
	q := Whole(int(cards%9)+1, types...)
	if m := int64(milli % 1001); flags&8 != 0 && m > 0 && m < MilliPerCard {
		q = Share(m, 0, types...)
	}
	q.CPUMilli, q.MemoryMiB = int64(r.IntN(70))*1000, int64(r.IntN(300))*1024
	sum := Summarize(&n)
	got, want := CheckSummarized(&n, &sum, &q), Check(&n, &q)
	if got != want || got.Reason() != want.Reason() {
		t.Fatalf("%s on %+v: summarised %q, from the cards %q", q.String(), n, got.Reason(), want.Reason())
	}
	if got, want := ResolvableSummarized(&n, &sum, &q), Resolvable(&n, &q); got != want {
		t.Fatalf("%s on %+v: resolvable summarised %v, from the cards %v", q.String(), n, got, want)
	}
}
