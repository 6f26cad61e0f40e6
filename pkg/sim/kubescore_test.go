package sim

import (
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// kubeScore is kube-scheduler's LeastAllocated plus BalancedAllocation,
// worked out by hand.
func TestKubeScore(t *testing.T) {
	tests := []struct {
		name                 string
		cpu, mem, usedC, usM int64
		reqC, reqM           int64
		want                 int64
	}{
		// fit (50+50)/2 = 50; fractions equal: balanced 100.
		{"half of both", 8000, 16384, 0, 0, 4000, 8192, 150},
		// cpu (8000-2000)*100/8000 = 75, mem 100 - 12.5 = 87 (integers): fit 81;
		// fractions 0.25 and 0.125: std 0.0625, balanced 93.
		{"uneven", 8000, 16384, 1000, 1024, 1000, 1024, 81 + 93},
		// full CPU: cpu 0, mem 50: fit 25; fractions 1 and 0.5: balanced 75.
		{"full CPU", 8000, 16384, 4000, 0, 4000, 8192, 25 + 75},
		// a resource the node does not track scores 0 and counts 0.
		{"memory untracked", 8000, 0, 0, 0, 4000, 8192, 25 + 75},
	}
	for _, tt := range tests {
		n := placement.Node{Name: "n", CPUMilli: tt.cpu, MemoryMiB: tt.mem, UsedCPUMilli: tt.usedC, UsedMemoryMiB: tt.usM}
		r := placement.Request{CPUMilli: tt.reqC, MemoryMiB: tt.reqM}
		if got := kubeScore(&n, &r); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

// With --cpu-pods kube-scheduler or default-scheduler a pod without GPU
// goes to a node kube-scheduler's scores allow, and the policy never
// learns of it.
func TestCPUPodsKubeScheduler(t *testing.T) {
	tr := handmadeTrace(t)
	order := []int{0, 1, 2, 3, 4} // p5, the pod without GPU, last
	cases := []struct {
		mode     CPUPods
		node     int // where p5 goes
		observed int // requests the learner saw
	}{
		// binpack: the fullest node by CPU share after placement, a.
		{CPUPodsPolicy, 0, 5},
		// default-scheduler: after p1..p4, a has 4 of 8 cores and 8 of 32 GiB
		// used (fit (37+71)/2 = 54 with p5, balanced 91), b 4 of 16 cores and
		// 8 of 64 GiB (fit (68+85)/2 = 76, balanced 95): b.
		{CPUPodsDefaultScheduler, 1, 4},
		// the shipped profile: either node, at random (-1: any).
		{CPUPodsKubeScheduler, -1, 4},
	}
	for _, c := range cases {
		l := &countingLearner{Policy: placement.Binpack()}
		res, err := ReplayWith(tr.Nodes, tr.Pods, order, l, 1, ReplayOptions{CPUPods: c.mode, Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if (c.node >= 0 && res.Nodes[4] != c.node) || res.Nodes[4] < 0 || l.n != c.observed {
			t.Errorf("--cpu-pods %s: p5 on node %d, %d requests learned; want node %d, %d learned", c.mode, res.Nodes[4], l.n, c.node, c.observed)
		}
	}
}

// countingLearner is a policy that counts what it is shown.
type countingLearner struct {
	placement.Policy
	n int
}

func (c *countingLearner) Observe(*placement.Request) { c.n++ }

// Under the shipped profile a pod without GPU goes to any node it fits,
// drawn with the seed: over many seeds, each of the two nodes.
func TestCPUPodsKubeSchedulerAtRandom(t *testing.T) {
	tr := handmadeTrace(t)
	seen := map[int]bool{}
	for seed := int64(1); seed <= 20; seed++ {
		res, err := ReplayWith(tr.Nodes, tr.Pods, []int{4}, placement.Binpack(), seed, ReplayOptions{CPUPods: CPUPodsKubeScheduler, Record: true})
		if err != nil {
			t.Fatal(err)
		}
		seen[res.Nodes[0]] = true
	}
	if !seen[0] || !seen[1] || len(seen) != 2 {
		t.Errorf("p5 went to %v over 20 seeds, want both nodes", seen)
	}
}
