package perf

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

func TestBuildFleet(t *testing.T) {
	tests := []struct {
		name       string
		o          FleetOptions
		wantGPUMin int
	}{
		{"more pods than cards", FleetOptions{Nodes: 10, Pods: 400, Seed: 1}, 10},
		{"one pod per node", FleetOptions{Nodes: 50, Pods: 50, Seed: 2}, 1},
		{"every node vGPU", FleetOptions{Nodes: 8, Pods: 200, VGPUEvery: 1, Seed: 3}, 8},
		{"no pods", FleetOptions{Nodes: 3, Pods: 0, Seed: 4}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := BuildFleet(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Nodes) != tt.o.Nodes || len(f.Pods) != tt.o.Pods {
				t.Fatalf("%d nodes and %d pods, want %d and %d", len(f.Nodes), len(f.Pods), tt.o.Nodes, tt.o.Pods)
			}
			if f.GPUPods < tt.wantGPUMin {
				t.Errorf("%d GPU pods, want at least %d", f.GPUPods, tt.wantGPUMin)
			}
			checkNotOverbooked(t, f)
		})
	}
}

// checkNotOverbooked checks every pod is bound to a node of the fleet and no
// node holds more whole cards, nor any card more shares, than it has.
func checkNotOverbooked(t *testing.T, f *Fleet) {
	t.Helper()
	nodes := map[string]*corev1.Node{}
	for _, n := range f.Nodes {
		nodes[n.Name] = n
	}
	whole := map[string]int64{}
	shares := map[string]map[int]int{}
	for _, p := range f.Pods {
		n := nodes[p.Spec.NodeName]
		if n == nil {
			t.Fatalf("pod %s is bound to unknown node %q", p.Name, p.Spec.NodeName)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s is %s, want Running", p.Name, p.Status.Phase)
		}
		if q, ok := p.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; ok {
			whole[n.Name] += q.Value()
			if _, plugin := n.Status.Allocatable["nvidia.com/gpu"]; !plugin {
				t.Errorf("pod %s holds whole cards on vGPU node %s", p.Name, n.Name)
			}
		}
		if raw, ok := p.Annotations[api.AnnotationAssigned]; ok {
			a, err := api.DecodeAssignment(raw)
			if err != nil {
				t.Fatalf("pod %s: %v", p.Name, err)
			}
			if a.Node != n.Name {
				t.Errorf("pod %s bound to %s is assigned on %s", p.Name, n.Name, a.Node)
			}
			if shares[n.Name] == nil {
				shares[n.Name] = map[int]int{}
			}
			for _, c := range a.Containers {
				for _, s := range c.Cards {
					shares[n.Name][s.Index] += s.Cores
				}
			}
		}
	}
	for name, k := range whole {
		if k > CardsPerNode {
			t.Errorf("node %s holds %d whole cards of %d", name, k, CardsPerNode)
		}
	}
	for name, cards := range shares {
		for idx, cores := range cards {
			if idx < 0 || idx >= CardsPerNode || cores > api.CoresPerCard {
				t.Errorf("node %s card %d holds %d cores", name, idx, cores)
			}
		}
	}
}

func TestBuildFleetIsReproducible(t *testing.T) {
	a, err := BuildFleet(FleetOptions{Nodes: 5, Pods: 40, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildFleet(FleetOptions{Nodes: 5, Pods: 40, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Pods, b.Pods) || !reflect.DeepEqual(a.Nodes, b.Nodes) {
		t.Error("two fleets of the same seed differ")
	}
}

func TestBuildFleetRefuses(t *testing.T) {
	for _, o := range []FleetOptions{{Nodes: 0, Pods: 1}, {Nodes: 1, Pods: -1}} {
		if _, err := BuildFleet(o); err == nil {
			t.Errorf("BuildFleet(%+v) built a fleet", o)
		}
	}
}

func TestAdmittedPod(t *testing.T) {
	for _, req := range queryRequests {
		p, err := AdmittedPod("p", req, "gpuplane")
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		if p.Spec.SchedulerName != "gpuplane" || p.Annotations[api.AnnotationApplied] == "" {
			t.Errorf("%q: scheduler %q, applied %q: not as the webhook admits it", req, p.Spec.SchedulerName, p.Annotations[api.AnnotationApplied])
		}
	}
}

func TestDefaultCandidates(t *testing.T) {
	tests := []struct{ nodes, want int }{
		{50, 50}, {100, 100}, {200, 100}, {1000, 420}, {5000, 500}, {10000, 500}, {100000, 5000},
	}
	for _, tt := range tests {
		if got := DefaultCandidates(tt.nodes); got != tt.want {
			t.Errorf("DefaultCandidates(%d) = %d, want %d", tt.nodes, got, tt.want)
		}
	}
}

func TestThousandsAndIntList(t *testing.T) {
	for in, want := range map[int]string{7: "7", 1000: "1,000", 40000: "40,000", 1234567: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
	got, err := intList(" 1000, 5000,,10000 ")
	if err != nil || !reflect.DeepEqual(got, []int{1000, 5000, 10000}) {
		t.Errorf("intList = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1,x", "0", "-5"} {
		if _, err := intList(bad); err == nil {
			t.Errorf("intList(%q) accepted", bad)
		}
	}
}
