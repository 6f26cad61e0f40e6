package extender

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// randomNode draws a node of 1..8 cards of one or two types with random
// allocations, host resources and services.
func randomNode(rng *rand.Rand, name string) *nodeSnapshot {
	types := []string{"T4", "V100", "A100"}
	t1, t2 := types[rng.IntN(3)], types[rng.IntN(3)]
	n := placement.Node{Name: name, WholeCards: rng.IntN(4) > 0, VGPU: rng.IntN(2) == 0,
		CPUMilli: 8000, MemoryMiB: 65536, UsedCPUMilli: int64(rng.IntN(9)) * 1000, UsedMemoryMiB: int64(rng.IntN(5)) * 16384}
	cards := 1 + rng.IntN(8)
	if rng.IntN(10) == 0 {
		cards = 0
	}
	for i := range cards {
		typ := t1
		if i >= cards/2 && rng.IntN(3) == 0 {
			typ = t2
		}
		c := placement.Card{Index: i, Type: typ, MemoryMiB: 16384}
		switch rng.IntN(4) {
		case 0:
			c.UsedMilli = 1000
		case 1:
			c.UsedMilli = int64(rng.IntN(10)) * 100
			c.UsedMemoryMiB = int64(rng.IntN(5)) * 2048
		}
		n.Cards = append(n.Cards, c)
	}
	s := &nodeSnapshot{node: n}
	s.shape = shapeOf(&s.node)
	return s
}

func randomRequest(rng *rand.Rand) placement.Request {
	var types []string
	switch rng.IntN(3) {
	case 0:
		types = []string{"T4"}
	case 1:
		types = []string{"V100", "A100"}
	}
	r := placement.Whole(1+rng.IntN(6), types...)
	if rng.IntN(2) == 0 {
		r = placement.Share(int64(1+rng.IntN(9))*100, int64(rng.IntN(4))*2048, types...)
	}
	r.CPUMilli = int64(rng.IntN(4)) * 1000
	r.MemoryMiB = int64(rng.IntN(3)) * 16384
	return r
}

// TestReasonMemoWordsLikePlacement: over many random nodes and requests,
// the memoised wording of every refusal is exactly placement's.
func TestReasonMemoWordsLikePlacement(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 300 {
		r := randomRequest(rng)
		var memo reasonMemo
		for j := range 200 {
			s := randomNode(rng, fmt.Sprintf("node-%d", j))
			v := placement.Check(&s.node, &r)
			if v.OK() {
				continue
			}
			if got, want := memo.reason(s, v), v.Reason(); got != want {
				t.Fatalf("request %s on %+v:\nmemo      %q\nplacement %q", r.String(), s.node, got, want)
			}
			checked++
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d refusals checked", checked)
	}
}

// TestScoreMemoScoresLikeThePolicy: nodes taken as alike score exactly as
// the policy scores each of them.
func TestScoreMemoScoresLikeThePolicy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{placement.PolicyAuto, placement.PolicyBinpack, placement.PolicySpread, placement.PolicyBestFit, placement.PolicyFGD} {
		t.Run(name, func(t *testing.T) {
			policy, learner, err := NewPolicy(name)
			if err != nil {
				t.Fatal(err)
			}
			hits := 0
			for range 200 {
				r := randomRequest(rng)
				if learner != nil {
					learner.Observe(&r)
				}
				req := podRequest{parts: []requestPart{{container: wholeContainer, req: r}}}
				// Few distinct nodes, drawn again and again, so that the
				// memo answers most of them.
				pool := make([]*nodeSnapshot, 5)
				for i := range pool {
					pool[i] = randomNode(rng, fmt.Sprintf("n%d", i))
				}
				snaps := make([]*nodeSnapshot, 50)
				for j := range snaps {
					proto := pool[rng.IntN(len(pool))]
					snaps[j] = &nodeSnapshot{node: proto.node, shape: proto.shape}
					snaps[j].node.Name = fmt.Sprintf("copy-%d", j)
				}
				memo := newScoreMemo(len(snaps))
				for j, s := range snaps {
					if !placement.Check(&s.node, &r).OK() {
						continue
					}
					k, slot := memo.lookup(snaps, s)
					if k < 0 {
						memo.put(slot, j)
						continue
					}
					hits++
					gotRaw, gotTyp := score(&snaps[k].node, &req, policy)
					wantRaw, wantTyp := score(&s.node, &req, policy)
					if gotRaw != wantRaw || gotTyp != wantTyp {
						t.Fatalf("%s on %+v: memo's %+v scores %v %q, the policy %v %q", r.String(), s.node, snaps[k].node, gotRaw, gotTyp, wantRaw, wantTyp)
					}
				}
			}
			if hits < 1000 {
				t.Fatalf("the memo answered only %d times", hits)
			}
		})
	}
}

func TestSameShape(t *testing.T) {
	base := func() placement.Node {
		return placement.Node{Name: "a", VGPU: true, CPUMilli: 1000, Cards: []placement.Card{
			{Index: 0, UUID: "x", Type: "T4", MemoryMiB: 16384, UsedMilli: 300},
			{Index: 1, UUID: "y", Type: "T4", MemoryMiB: 16384},
		}}
	}
	cases := []struct {
		name   string
		change func(*placement.Node)
		same   bool
	}{
		{"name, indexes and UUIDs do not matter", func(n *placement.Node) {
			n.Name, n.Cards[0].Index, n.Cards[0].UUID = "b", 7, "z"
		}, true},
		{"allocation", func(n *placement.Node) { n.Cards[1].UsedMilli = 100 }, false},
		{"card memory in use", func(n *placement.Node) { n.Cards[0].UsedMemoryMiB = 1 }, false},
		{"card order", func(n *placement.Node) { n.Cards[0], n.Cards[1] = n.Cards[1], n.Cards[0] }, false},
		{"type", func(n *placement.Node) { n.Cards[1].Type = "A100" }, false},
		{"host CPU in use", func(n *placement.Node) { n.UsedCPUMilli = 1 }, false},
		{"service", func(n *placement.Node) { n.WholeCards = true }, false},
		{"one card fewer", func(n *placement.Node) { n.Cards = n.Cards[:1] }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.change(&b)
			if got := sameShape(&a, &b); got != tc.same {
				t.Fatalf("sameShape = %v, want %v", got, tc.same)
			}
			if tc.same != (shapeOf(&a).hash == shapeOf(&b).hash) {
				t.Fatalf("hash equality disagrees with sameShape")
			}
		})
	}
}
