package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

func TestComputeLimit(t *testing.T) {
	tests := []struct {
		name, nodes, pods string
		threshold         int
		wantPods          int
		offline, bound    float64
	}{
		{
			// The handmade trace: p1..p8 arrive by 100% (p8 crosses it). Packed
			// largest first, typed first: p1 and p8 fill b's V100s, p4 and p6
			// a's T4s; the shares find no card left. Nothing is left over.
			name: "handmade", nodes: handmadeNodes, pods: handmadePods, threshold: 100,
			wantPods: 8, offline: 100, bound: 100,
		},
		{
			// Two cards, CPU for one of the two pods: the packing places one,
			// the relaxation (no sharing of CPU) both.
			name:      "cpu binds",
			nodes:     "sn,cpu_milli,memory_mib,gpu,model\nn,8000,32768,2,T4\n",
			pods:      "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,6000,1024,1,1000,\np2,6000,1024,1,1000,\n",
			threshold: 100, wantPods: 2, offline: 50, bound: 100,
		},
		{
			// A type no node has, and a pod larger than any node: neither
			// counts in the bound.
			name:      "types and sizes",
			nodes:     "sn,cpu_milli,memory_mib,gpu,model\nn,8000,32768,2,T4\nm,8000,32768,2,T4\n",
			pods:      "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,1024,1,1000,V100\np2,1000,1024,4,1000,\np3,1000,1024,1,500,\n",
			threshold: 200, wantPods: 3, offline: 12.5, bound: 12.5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes, err := ReadNodes(strings.NewReader(tc.nodes))
			if err != nil {
				t.Fatal(err)
			}
			pods, err := ReadPods(strings.NewReader(tc.pods))
			if err != nil {
				t.Fatal(err)
			}
			order := make([]int, len(pods))
			for i := range order {
				order[i] = i
			}
			l, err := ComputeLimit(nodes, pods, order, tc.threshold, placement.NewAuto(placement.AutoOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if l.ArrivedPods != tc.wantPods || math.Abs(l.Offline-tc.offline) > 1e-9 || math.Abs(l.UpperBound-tc.bound) > 1e-9 {
				t.Errorf("limit %+v, want %d pods, offline %v, bound %v", l, tc.wantPods, tc.offline, tc.bound)
			}
			if len(l.Tried) != 2 || l.Tried[0].By != (tightestFit{}).Name() || l.Tried[1].By != placement.PolicyAuto {
				t.Errorf("packings tried %+v, want tightest fit and auto", l.Tried)
			}
			if l.Offline > l.UpperBound+1e-9 {
				t.Errorf("offline %v above the upper bound %v", l.Offline, l.UpperBound)
			}
		})
	}
}
