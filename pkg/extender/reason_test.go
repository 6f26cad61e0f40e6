package extender

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// randomNode draws a node of 1..8 cards of one or two types with random
// allocations, host resources and services, and its shape.
func randomNode(rng *rand.Rand, name string) (*placement.Node, *cache.Shape) {
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
	sh := cache.ShapeOf(&n)
	return &n, &sh
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
			n, sh := randomNode(rng, fmt.Sprintf("node-%d", j))
			v := placement.Check(n, &r)
			if v.OK() {
				continue
			}
			if got, want := memo.reason(sh, n, v), v.Reason(); got != want {
				t.Fatalf("request %s on %+v:\nmemo      %q\nplacement %q", r.String(), *n, got, want)
			}
			checked++
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d refusals checked", checked)
	}
}
