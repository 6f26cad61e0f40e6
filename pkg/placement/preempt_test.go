package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// holder builds a test holder: hold("a", 1).whole(0, 1).share(2, 300, 4096).
type holderBuilder struct{ h Holder }

func hold(id string, prio int32) *holderBuilder {
	return &holderBuilder{h: Holder{ID: id, Priority: prio}}
}

// whole holds the cards at positions whole, as the device plugin does.
func (b *holderBuilder) whole(positions ...int) *holderBuilder {
	for _, p := range positions {
		b.h.Cards = append(b.h.Cards, Hold{Position: p, Milli: MilliPerCard})
	}
	return b
}

func (b *holderBuilder) share(p int, milli, mem int64) *holderBuilder {
	b.h.Cards = append(b.h.Cards, Hold{Position: p, Milli: milli, MemoryMiB: mem})
	return b
}

func (b *holderBuilder) preferred() *holderBuilder {
	b.h.Preferred = true
	return b
}

func (b *holderBuilder) host(cpu, mem int64) *holderBuilder {
	b.h.CPUMilli, b.h.MemoryMiB = cpu, mem
	return b
}

// booked returns n with everything the holders hold booked on it.
func booked(n *Node, hs ...*holderBuilder) (*Node, []Holder) {
	out := make([]Holder, len(hs))
	for i, b := range hs {
		out[i] = b.h
		for _, c := range b.h.Cards {
			n.Cards[c.Position].UsedMilli += c.Milli
			n.Cards[c.Position].UsedMemoryMiB += c.MemoryMiB
		}
		n.UsedCPUMilli += b.h.CPUMilli
		n.UsedMemoryMiB += b.h.MemoryMiB
	}
	return n, out
}

func ids(hs []Holder, idx []int) string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = hs[x].ID
	}
	return strings.Join(out, ",")
}

func TestVictims(t *testing.T) {
	v100x8 := func() *Node { return makeNode("v100x8", "V100", 8).wholeOnly().build() }
	t4x1 := func() *Node { return makeNode("t4", "T4", 1).vgpuOnly().build() }
	tests := []struct {
		name    string
		node    *Node
		holders []*holderBuilder
		req     *Request
		prio    int32
		want    string // victims' IDs in the order returned
		err     error
	}{
		{
			name: "8(V100) takes every low pod of a full node",
			node: v100x8(),
			holders: []*holderBuilder{hold("big", 0).whole(0, 1, 2, 3), hold("a", 0).whole(4), hold("b", 0).whole(5),
				hold("c", 0).whole(6), hold("d", 0).whole(7)},
			req: req(Whole(8, "V100"), 0, 0), prio: 1000, want: "a,b,big,c,d",
		},
		{
			name:    "already fits: nothing to preempt",
			node:    v100x8(),
			holders: []*holderBuilder{hold("a", 0).whole(0)},
			req:     req(Whole(2, "V100"), 0, 0), prio: 1000, want: "",
		},
		{
			name: "the lowest priorities go",
			node: v100x8(),
			holders: []*holderBuilder{hold("p5", 5).whole(0), hold("p1", 1).whole(1), hold("p3", 3).whole(2), hold("p2", 2).whole(3),
				hold("p4", 4).whole(4), hold("p6", 6).whole(5), hold("p7", 7).whole(6), hold("p0", 0).whole(7)},
			req: req(Whole(2), 0, 0), prio: 1000, want: "p1,p0",
		},
		{
			name:    "one pod of two cards rather than two of one, at equal priority",
			node:    makeNode("n", "V100", 4).wholeOnly().build(),
			holders: []*holderBuilder{hold("one-a", 1).whole(0), hold("one-b", 1).whole(1), hold("two", 1).whole(2, 3)},
			req:     req(Whole(2), 0, 0), prio: 10, want: "two",
		},
		{
			name:    "two pods of low priority rather than one of higher priority",
			node:    makeNode("n", "V100", 4).wholeOnly().build(),
			holders: []*holderBuilder{hold("one-a", 1).whole(0), hold("one-b", 1).whole(1), hold("two", 5).whole(2, 3)},
			req:     req(Whole(2), 0, 0), prio: 10, want: "one-a,one-b",
		},
		{
			name: "at equal count and highest priority, the lower sum",
			node: makeNode("n", "V100", 4).wholeOnly().build(),
			holders: []*holderBuilder{hold("a3", 3).whole(0), hold("b3", 3).whole(1), hold("c1", 1).whole(2),
				hold("d3", 3).whole(3)},
			req: req(Whole(3), 0, 0), prio: 10, want: "a3,b3,c1",
		},
		{
			name: "a pod of two cards and one of low priority beat three pods",
			node: makeNode("n", "V100", 5).wholeOnly().build(),
			holders: []*holderBuilder{hold("a3", 3).whole(0), hold("b3", 3).whole(1), hold("c1", 1).whole(2),
				hold("d3", 3).whole(3, 4)},
			req: req(Whole(3), 0, 0), prio: 10, want: "d3,c1",
		},
		{
			name: "the lower sum, though a lower priority comes first",
			node: makeNode("t4x2", "T4", 2).vgpuOnly().build(),
			holders: []*holderBuilder{hold("a", 1).share(0, 200, 0), hold("x", 5).share(0, 300, 0), hold("y", 5).share(0, 300, 0),
				hold("boss-0", 20).share(0, 200, 0),
				hold("b", 2).share(1, 250, 0), hold("c", 2).share(1, 250, 0), hold("z", 5).share(1, 300, 0),
				hold("boss-1", 20).share(1, 200, 0)},
			req: req(Share(800, 0), 0, 0), prio: 10, want: "z,b,c",
		},
		{
			name:    "equal priority is never preempted",
			node:    v100x8(),
			holders: []*holderBuilder{hold("peer", 1000).whole(0), hold("a", 0).whole(1), hold("b", 0).whole(2, 3, 4, 5, 6, 7)},
			req:     req(Whole(8, "V100"), 0, 0), prio: 1000, err: ErrNoVictims,
		},
		{
			name:    "higher priority is never preempted",
			node:    makeNode("n", "V100", 1).wholeOnly().build(),
			holders: []*holderBuilder{hold("boss", 2000).whole(0)},
			req:     req(Whole(1), 0, 0), prio: 1000, err: ErrNoVictims,
		},
		{
			name:    "more cards than the node has",
			node:    v100x8(),
			holders: []*holderBuilder{hold("a", 0).whole(0)},
			req:     req(Whole(16, "V100"), 0, 0), prio: 1000, err: ErrUnresolvable,
		},
		{
			name:    "a type the node lacks",
			node:    v100x8(),
			holders: []*holderBuilder{hold("a", 0).whole(0, 1, 2, 3, 4, 5, 6, 7)},
			req:     req(Whole(1, "T4"), 0, 0), prio: 1000, err: ErrUnresolvable,
		},
		{
			name:    "more card memory than a card has",
			node:    t4x1(),
			holders: []*holderBuilder{hold("a", 0).share(0, 500, 8192)},
			req:     req(Share(100, 32*1024), 0, 0), prio: 1000, err: ErrUnresolvable,
		},
		{
			name:    "two shares free the cores of a share",
			node:    t4x1(),
			holders: []*holderBuilder{hold("a", 0).share(0, 300, 0), hold("b", 0).share(0, 400, 0), hold("c", 0).share(0, 300, 0)},
			req:     req(Share(500, 0), 0, 0), prio: 1000, want: "a,b",
		},
		{
			name: "a share needs the memory too",
			node: t4x1(),
			holders: []*holderBuilder{hold("small-mem", 0).share(0, 500, 1024), hold("big-mem", 0).share(0, 200, 12*1024),
				hold("rest", 5).share(0, 300, 1024)},
			req: req(Share(200, 8*1024), 0, 0), prio: 1000, want: "big-mem",
		},
		{
			name: "the card whose shares are fewest",
			node: makeNode("t4x2", "T4", 2).vgpuOnly().build(),
			holders: []*holderBuilder{hold("a", 0).share(0, 500, 0), hold("b", 0).share(0, 500, 0),
				hold("c", 0).share(1, 900, 0)},
			req: req(Share(600, 0), 0, 0), prio: 1000, want: "c",
		},
		{
			name: "whole cards under vGPU shares",
			node: makeNode("both", "V100", 2).build(),
			holders: []*holderBuilder{hold("w", 0).whole(0), hold("s1", 0).share(1, 200, 2048),
				hold("s2", 0).share(1, 300, 2048)},
			req: req(Whole(2), 0, 0), prio: 1000, want: "s1,s2,w",
		},
		{
			name:    "pods on cards of another type stay",
			node:    makeNode("mix", "T4", 2).withCard("V100").wholeOnly().build(),
			holders: []*holderBuilder{hold("t4-a", 0).whole(0), hold("t4-b", 0).whole(1), hold("v100", 0).whole(2)},
			req:     req(Whole(1, "V100"), 0, 0), prio: 1000, want: "v100",
		},
		{
			name: "host CPU counts",
			node: makeNode("n", "V100", 2).wholeOnly().withHost(8000, 0, 0, 0).build(),
			holders: []*holderBuilder{hold("gpu", 0).whole(0), hold("cpu-hog", 0).host(7000, 0),
				hold("cpu-small", 0).host(500, 0)},
			req: req(Whole(1), 2000, 0), prio: 1000, want: "cpu-hog",
		},
		{
			name:    "a node without the service cannot be helped",
			node:    makeNode("n", "V100", 2).wholeOnly().build(),
			holders: []*holderBuilder{hold("a", 0).whole(0)},
			req:     req(Share(500, 0), 0, 0), prio: 1000, err: ErrUnresolvable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, hs := booked(tc.node, tc.holders...)
			got, err := Victims(n, hs, tc.req, tc.prio)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Victims error = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if ids(hs, got) != tc.want {
				t.Errorf("Victims = %q, want %q", ids(hs, got), tc.want)
			}
		})
	}
}

func TestVictimsReasons(t *testing.T) {
	n, hs := booked(makeNode("v100x8", "V100", 8).wholeOnly().build(), hold("peer", 1000).whole(0, 1, 2, 3), hold("low", 0).whole(4, 5, 6, 7))
	_, err := Victims(n, hs, req(Whole(8, "V100"), 0, 0), 1000)
	if want := "with every pod of priority below 1000 gone, v100x8: 4 free V100, pod needs 8"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
	_, err = Victims(n, hs, req(Whole(9, "V100"), 0, 0), 1000)
	if want := "v100x8: 8 free V100, pod needs 9"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
}

func TestVictimsRefusesBadHoldings(t *testing.T) {
	n := makeNode("n", "V100", 2).build()
	for _, h := range []Holder{
		{ID: "off", Cards: []Hold{{Position: 2, Milli: 1000}}},
		{ID: "neg", Cards: []Hold{{Position: 0, Milli: -1}}},
		{ID: "cpu", CPUMilli: -5},
	} {
		if _, err := Victims(n, []Holder{h}, req(Whole(1), 0, 0), 1); !errors.Is(err, ErrInvalidNode) {
			t.Errorf("holder %+v: error %v, want ErrInvalidNode", h, err)
		}
	}
}

// randomCase draws a node of 1..8 cards of one or two types, both services,
// host resources, holders booking whole cards, shares and host resources,
// and a request of either kind.
func randomCase(rng *rand.Rand) (*Node, []Holder, *Request, int32) {
	types := []string{"V100", "T4"}
	n := &Node{Name: "n", WholeCards: true, VGPU: true}
	if rng.IntN(3) == 0 {
		n.CPUMilli, n.MemoryMiB = 16000, 64*1024
	}
	cards := 1 + rng.IntN(8)
	for i := 0; i < cards; i++ {
		typ := types[0]
		if rng.IntN(4) == 0 {
			typ = types[1]
		}
		n.Cards = append(n.Cards, Card{Index: i, Type: typ, MemoryMiB: 16 * 1024})
	}
	var hs []Holder
	for i := 0; i < 1+rng.IntN(10); i++ {
		h := Holder{ID: fmt.Sprintf("h%02d", i), Priority: int32(rng.IntN(4)), Preferred: rng.IntN(3) == 0}
		if n.CPUMilli > 0 && rng.IntN(2) == 0 {
			h.CPUMilli = int64(rng.IntN(4000))
			h.MemoryMiB = int64(rng.IntN(16 * 1024))
			if h.CPUMilli > n.FreeCPUMilli() || h.MemoryMiB > n.FreeMemoryMiB() {
				h.CPUMilli, h.MemoryMiB = 0, 0
			}
		}
		switch rng.IntN(3) {
		case 0: // whole cards
			k := 1 + rng.IntN(3)
			for p := range n.Cards {
				if len(h.Cards) < k && n.Cards[p].Idle() && rng.IntN(2) == 0 {
					h.Cards = append(h.Cards, Hold{Position: p, Milli: MilliPerCard})
				}
			}
		case 1: // a share
			p := rng.IntN(len(n.Cards))
			milli := int64(100 * (1 + rng.IntN(6)))
			mem := int64(1024 * rng.IntN(8))
			if c := &n.Cards[p]; c.FreeMilli() >= milli && c.FreeMemoryMiB() >= mem {
				h.Cards = append(h.Cards, Hold{Position: p, Milli: milli, MemoryMiB: mem})
			}
		}
		for _, c := range h.Cards {
			n.Cards[c.Position].UsedMilli += c.Milli
			n.Cards[c.Position].UsedMemoryMiB += c.MemoryMiB
		}
		n.UsedCPUMilli += h.CPUMilli
		n.UsedMemoryMiB += h.MemoryMiB
		hs = append(hs, h)
	}
	var r Request
	switch rng.IntN(3) {
	case 0:
		r = Whole(1+rng.IntN(8), types[:1+rng.IntN(2)]...)
	case 1:
		r = Whole(1 + rng.IntN(4))
	default:
		r = Share(int64(100*(1+rng.IntN(9))), int64(1024*rng.IntN(10)))
		if rng.IntN(2) == 0 {
			r.Types = []string{types[rng.IntN(2)]}
		}
	}
	if n.CPUMilli > 0 {
		r.CPUMilli, r.MemoryMiB = int64(rng.IntN(8000)), int64(rng.IntN(32*1024))
	}
	return n, hs, &r, int32(rng.IntN(5))
}

// fitsWithout is the property's own, independent fit: the node with the
// holders of set taken off it.
func fitsWithout(n *Node, hs []Holder, r *Request, set []int) bool {
	c := *n
	c.Cards = slices.Clone(n.Cards)
	for _, i := range set {
		for _, h := range hs[i].Cards {
			c.Cards[h.Position].UsedMilli -= h.Milli
			c.Cards[h.Position].UsedMemoryMiB -= h.MemoryMiB
		}
		c.UsedCPUMilli -= hs[i].CPUMilli
		c.UsedMemoryMiB -= hs[i].MemoryMiB
	}
	return Check(&c, r).OK()
}

func costOf(hs []Holder, set []int) cost {
	c := cost{highest: -1 << 31, count: len(set)}
	for _, i := range set {
		c.highest = max(c.highest, hs[i].Priority)
		c.sum += int64(hs[i].Priority)
	}
	return c
}

// checkVictims checks one answer of victims against its definition; exact
// also checks that no set of victims comes before it under criteria 1 to 3
// (by trying every subset of the lower-priority holders).
func checkVictims(t *testing.T, n *Node, hs []Holder, r *Request, prio int32, got []int, err error, exact bool) {
	t.Helper()
	var lower []int
	for i := range hs {
		if hs[i].Priority < prio {
			lower = append(lower, i)
		}
	}
	empty := *n
	empty.Cards = slices.Clone(n.Cards)
	for i := range empty.Cards {
		empty.Cards[i].UsedMilli, empty.Cards[i].UsedMemoryMiB = 0, 0
	}
	empty.UsedCPUMilli, empty.UsedMemoryMiB = 0, 0
	switch {
	case errors.Is(err, ErrUnresolvable):
		if Check(&empty, r).OK() {
			t.Fatalf("ErrUnresolvable, but %s fits the empty node", r)
		}
		return
	case errors.Is(err, ErrNoVictims):
		if fitsWithout(n, hs, r, lower) {
			t.Fatalf("ErrNoVictims, but %s fits without every lower-priority holder", r)
		}
		return
	case err != nil:
		t.Fatalf("unexpected error %v", err)
	case len(got) == 0:
		if !Check(n, r).OK() {
			t.Fatalf("no victims, but %s does not fit", r)
		}
		return
	}
	if Check(n, r).OK() {
		t.Fatalf("victims %v for %s, which fits already", got, r)
	}
	for k, i := range got {
		if hs[i].Priority >= prio {
			t.Fatalf("victim %s has priority %d, the preemptor %d", hs[i].ID, hs[i].Priority, prio)
		}
		if k > 0 && (hs[got[k-1]].Priority < hs[i].Priority || hs[got[k-1]].Priority == hs[i].Priority && hs[got[k-1]].ID > hs[i].ID) {
			t.Fatalf("victims %v are not ordered by priority, highest first", got)
		}
	}
	if !fitsWithout(n, hs, r, got) {
		t.Fatalf("%s does not fit without victims %v", r, got)
	}
	// No proper subset fits.
	for mask := 0; mask < 1<<len(got)-1; mask++ {
		var sub []int
		for k, i := range got {
			if mask&(1<<k) != 0 {
				sub = append(sub, i)
			}
		}
		if fitsWithout(n, hs, r, sub) {
			t.Fatalf("victims %v, but the subset %v is enough for %s", got, sub, r)
		}
	}
	// Criterion 1 always; 2 and 3 when exact.
	want := costOf(hs, got)
	for mask := 1; mask < 1<<len(lower); mask++ {
		var set []int
		for k, i := range lower {
			if mask&(1<<k) != 0 {
				set = append(set, i)
			}
		}
		c := costOf(hs, set)
		if (c.highest < want.highest || exact && c.less(want)) && fitsWithout(n, hs, r, set) {
			t.Fatalf("victims %v cost %+v; %v costs %+v and is enough for %s", got, want, set, c, r)
		}
	}
}

// TestVictimsProperties checks every answer on random nodes against its
// definition, with the exhaustive search and with the fallback.
func TestVictimsProperties(t *testing.T) {
	seen := map[string]int{}
	for seed := uint64(0); seed < 3000; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		n, hs, r, prio := randomCase(rng)
		got, err := Victims(n, hs, r, prio)
		switch {
		case err != nil:
			seen[strings.SplitN(err.Error(), ":", 2)[0]]++
		case len(got) == 0:
			seen["fits"]++
		default:
			seen["victims"]++
		}
		checkVictims(t, n, hs, r, prio, got, err, true)
		got, err = victims(n, hs, r, prio, 0)
		checkVictims(t, n, hs, r, prio, got, err, false)
	}
	t.Logf("outcomes: %v", seen)
	for _, k := range []string{"fits", "victims", ErrNoVictims.Error(), ErrUnresolvable.Error()} {
		if seen[k] < 100 {
			t.Errorf("only %d random cases ended %q; the generator must cover every outcome", seen[k], k)
		}
	}
}

// TestResolvable: Resolvable is Check on the node emptied, on random
// nodes and requests.
func TestResolvable(t *testing.T) {
	for seed := uint64(0); seed < 3000; seed++ {
		n, _, r, _ := randomCase(rand.New(rand.NewPCG(seed, 7)))
		empty := *n
		empty.Cards = slices.Clone(n.Cards)
		for i := range empty.Cards {
			empty.Cards[i].UsedMilli, empty.Cards[i].UsedMemoryMiB = 0, 0
		}
		empty.UsedCPUMilli, empty.UsedMemoryMiB = 0, 0
		if got, want := Resolvable(n, r), Check(&empty, r).OK(); got != want {
			t.Fatalf("seed %d: Resolvable(%+v, %s) = %v, Check on the empty node says %v", seed, n, r, got, want)
		}
	}
	if n := makeNode("v", "V100", 8).build(); testing.AllocsPerRun(100, func() { Resolvable(n, req(Whole(9), 0, 0)) }) != 0 {
		t.Error("Resolvable allocates")
	}
}

func FuzzVictims(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s, uint32(MaxVictimSearch))
	}
	f.Fuzz(func(t *testing.T, seed uint64, budget uint32) {
		rng := rand.New(rand.NewPCG(seed, seed>>7))
		n, hs, r, prio := randomCase(rng)
		got, err := victims(n, hs, r, prio, int(min(budget, MaxVictimSearch)))
		checkVictims(t, n, hs, r, prio, got, err, int(budget) >= MaxVictimSearch)
	})
}

// BenchmarkVictims is one preempt answer for one node of 8 V100 that hands
// out whole cards and vGPU: a few whole-card pods and many shares, at four
// priorities, and a pod asking for 4 whole cards (the search has to weigh
// the shares card by card) or half a card.
func BenchmarkVictims(b *testing.B) {
	for _, shares := range []int{8, 24} {
		rng := rand.New(rand.NewPCG(uint64(shares), 3))
		n := makeNode("n", "V100", 8).build()
		var hs []*holderBuilder
		hs = append(hs, hold("w0", 1).whole(0), hold("w1", 2).whole(1))
		for i := 0; i < shares; i++ {
			p := 2 + i%6
			hs = append(hs, hold(fmt.Sprintf("s%02d", i), int32(rng.IntN(4))).share(p, 1000/int64(shares/6+1), 1024))
		}
		n, holders := booked(n, hs...)
		for _, r := range []*Request{req(Whole(4), 0, 0), req(Share(500, 4096), 0, 0)} {
			b.Run(fmt.Sprintf("shares=%d/pod=%s", shares, r), func(b *testing.B) {
				for b.Loop() {
					if _, err := Victims(n, holders, r, 10); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
