package placement

import (
	"fmt"
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

// Keys of inputs that differ in their first fields stay apart: small counts
// XORed into a small version must not cancel out.
func TestCacheKeysKeepSmallFieldsApart(t *testing.T) {
	reqKeys := map[uint64]string{}
	for version := uint64(0); version < 64; version++ {
		for cards := 1; cards <= 8; cards++ {
			r := Whole(cards)
			k := reqKey(&r, &Workload{version: version}, nil)
			what := fmt.Sprintf("version %d, %d cards", version, cards)
			if prev, ok := reqKeys[k]; ok {
				t.Fatalf("request keys of %s and %s are equal", prev, what)
			}
			reqKeys[k] = what
		}
	}
	nodeKeys := map[uint64]string{}
	for cards := 0; cards <= 16; cards++ {
		for cpu := int64(0); cpu < 64; cpu++ {
			n := Node{Cards: make([]Card, cards), CPUMilli: cpu}
			k := StateKey(&n)
			what := fmt.Sprintf("%d cards, %d milli-CPU", cards, cpu)
			if prev, ok := nodeKeys[k]; ok {
				t.Fatalf("node keys of %s and %s are equal", prev, what)
			}
			nodeKeys[k] = what
		}
	}
}

// A 1-card and a 2-card request alike in everything else each get their
// own cards while the learned mix moves from version to version.
func TestAutoCacheAcrossMixVersions(t *testing.T) {
	a := NewAuto(AutoOptions{})
	one, two := Whole(1), Whole(2)
	for i := range 400 {
		q := &one
		if i%2 == 1 {
			q = &two
		}
		a.Observe(q)
		n := &Node{Name: "n", WholeCards: true, Cards: make([]Card, 8)}
		for j := range n.Cards {
			n.Cards[j] = Card{Index: j, Type: "V100", MemoryMiB: 32768}
		}
		if got := len(a.Evaluate(n, q).Cards.Positions()); got != q.Cards {
			t.Fatalf("observation %d: a %d-card request was given %d cards", i, q.Cards, got)
		}
	}
}

// The cache answers what it was given for a key, nothing for another key,
// and keeps four keys of one set.
func TestEvalCacheKeepsWhatItWasGiven(t *testing.T) {
	c := newEvalCache()
	// Five keys of one set: node keys that differ above the set bits.
	var nodes []uint64
	for k := uint64(0); len(nodes) < 5; k++ {
		if n := k << 20; set(n, 7) == set(0, 7) {
			nodes = append(nodes, n)
		}
	}
	for i, n := range nodes[:4] {
		c.put(n, 7, Placement{Score: float64(i), Cards: CardSetOf(i)})
	}
	for i, n := range nodes[:4] {
		if pl, ok := c.get(n, 7); !ok || pl.Score != float64(i) || pl.Cards != CardSetOf(i) {
			t.Fatalf("key %d of the set: got %+v, %v", i, pl, ok)
		}
		if _, ok := c.get(n, 8); ok {
			t.Fatalf("key %d with another request found an entry", i)
		}
	}
	c.put(nodes[4], 7, Placement{Score: 4})
	kept := 0
	for _, n := range nodes {
		if _, ok := c.get(n, 7); ok {
			kept++
		}
	}
	if kept != 4 {
		t.Fatalf("a full set holds %d of 5 keys, want 4", kept)
	}
}
