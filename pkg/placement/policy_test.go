package placement

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestBuiltinRegistry(t *testing.T) {
	reg := Builtin()
	want := []string{PolicyBinpack, PolicySpread, PolicyBestFit, PolicyFGD, PolicyAuto,
		PolicyHAMiBinpackBinpack, PolicyHAMiBinpackSpread, PolicyHAMiSpreadBinpack, PolicyHAMiSpreadSpread}
	if !slices.Equal(reg.Names(), want) {
		t.Fatalf("Names = %v, want %v", reg.Names(), want)
	}
	w := NewWorkload([]Class{{Cards: 1, Milli: 1000, Weight: 1}})
	for _, name := range want {
		p, err := reg.New(name, Config{Workload: w})
		if err != nil || p.Name() != name {
			t.Errorf("New(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := reg.New("packing", Config{}); !errors.Is(err, ErrUnknownPolicy) {
		t.Errorf("unknown policy: %v", err)
	}
	if _, err := reg.New(PolicyFGD, Config{}); !errors.Is(err, ErrPolicyConfig) {
		t.Errorf("fgd without a mix: %v", err)
	}
	if err := reg.Register(PolicyAuto, func(Config) (Policy, error) { return Binpack(), nil }); !errors.Is(err, ErrPolicyConfig) {
		t.Errorf("registering a name twice: %v", err)
	}
	if a, b := NewRegistry(), NewRegistry(); len(a.Names())+len(b.Names()) != 0 {
		t.Error("a new registry is not empty")
	}
}

func TestChoose(t *testing.T) {
	n := makeNode("node-7", "V100", 2).withUsed(0, 1000).build()
	if _, err := Choose(Binpack(), n, req(Whole(2, "V100"), 0, 0)); !errors.Is(err, ErrNoFit) || err.Error() != "does not fit: node-7: 1 free V100, pod needs 2" {
		t.Errorf("Choose = %v", err)
	}
	set, err := Choose(Binpack(), n, req(Whole(1), 0, 0))
	if err != nil || set != CardSetOf(1) {
		t.Errorf("Choose = %v, %v; want {1}", set, err)
	}
}

func TestSimplePolicies(t *testing.T) {
	empty := makeNode("empty", "T4", 4).build()
	busy := makeNode("busy", "T4", 4).withUsed(0, 1000).withUsed(1, 700).withUsed(2, 300).build()
	share := req(Share(250, 0), 0, 0)
	tests := []struct {
		p         Policy
		better    *Node // scores higher than the other node
		worse     *Node
		card      int // the card the share takes on busy
		cardOfSet CardSet
	}{
		{Binpack(), busy, empty, 1, CardSetOf(1)}, // fullest node, tightest card (300 free)
		{Spread(), empty, busy, 3, CardSetOf(3)},  // emptiest node, freest card
		{BestFit(), busy, empty, 1, CardSetOf(1)}, // least left over, tightest card
	}
	for _, tc := range tests {
		t.Run(tc.p.Name(), func(t *testing.T) {
			if b, w := tc.p.Evaluate(tc.better, share).Score, tc.p.Evaluate(tc.worse, share).Score; b <= w {
				t.Errorf("score on %s %v, on %s %v; want the first higher", tc.better.Name, b, tc.worse.Name, w)
			}
			if got := tc.p.Evaluate(busy, share).Cards; got != tc.cardOfSet {
				t.Errorf("share goes to cards %v, want %v", got, tc.cardOfSet)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		raw  []float64
		want []int64
	}{
		{"spread", []float64{1, 3, 2, math.NaN()}, []int64{0, 10, 4, 0}},
		{"only the best gets 10", []float64{0, 99.9, 100}, []int64{0, 8, 10}},
		{"ties at the top", []float64{5, 5, 1}, []int64{10, 10, 0}},
		{"all equal", []float64{-3, -3}, []int64{10, 10}},
		{"one", []float64{42}, []int64{10}},
		{"none", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := make([]int64, len(tc.raw))
			Normalize(tc.raw, out)
			if !slices.Equal(out, tc.want) {
				t.Errorf("Normalize(%v) = %v, want %v", tc.raw, out, tc.want)
			}
		})
	}
}

func TestScoreNodes(t *testing.T) {
	nodes := []*Node{makeNode("a", "T4", 2).build(), makeNode("b", "T4", 2).withUsed(0, 500).build()}
	raw, out := make([]float64, 2), make([]int64, 2)
	ScoreNodes(Binpack(), nodes, req(Share(500, 0), 0, 0), raw, out)
	if out[0] != 0 || out[1] != MaxScore {
		t.Errorf("ScoreNodes = %v (raw %v), want [0 10]", out, raw)
	}
}
