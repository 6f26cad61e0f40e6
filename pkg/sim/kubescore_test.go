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

// With --cpu-pods kube-scheduler a pod without GPU goes to the node
// kube-scheduler's scores prefer, and the policy never learns of it.
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
		// kube-scheduler: after p1..p4, a has 4 of 8 cores and 8 of 32 GiB
		// used (fit (37+71)/2 = 54 with p5, balanced 91), b 4 of 16 cores and
		// 8 of 64 GiB (fit (68+85)/2 = 76, balanced 95): b.
		{CPUPodsKubeScheduler, 1, 4},
	}
	for _, c := range cases {
		l := &countingLearner{Policy: placement.Binpack()}
		res, err := ReplayWith(tr.Nodes, tr.Pods, order, l, 1, ReplayOptions{CPUPods: c.mode, Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Nodes[4] != c.node || l.n != c.observed {
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
