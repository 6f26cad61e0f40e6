package extender

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func scoresOf(l extenderv1.HostPriorityList) map[string]int64 {
	out := map[string]int64{}
	for _, hp := range l {
		out[hp.Host] = hp.Score
	}
	return out
}

func TestPrioritize(t *testing.T) {
	cluster := []runtime.Object{
		extendertest.MakeNode("empty").Whole(8, "V100").Obj(),
		extendertest.MakeNode("half").Whole(8, "V100").Obj(),
		extendertest.MakeNode("full").Whole(8, "V100").Obj(),
		extendertest.MakeNode("t4").Whole(4, "T4").Obj(),
		extendertest.MakePod("a").GPUs(4).On("half").Obj(),
		extendertest.MakePod("b").GPUs(8).On("full").Obj(),
	}
	names := []string{"empty", "half", "full", "t4", "ghost"}
	cases := []struct {
		policy string
		best   string
	}{
		{placement.PolicyBinpack, "half"},
		{placement.PolicySpread, "empty"},
		{placement.PolicyBestFit, "half"},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			h := newHarness(t, harnessOptions{policy: tc.policy}, cluster...)
			pod := extendertest.MakePod("p").GPUs(2).Types("V100").Obj()
			got := scoresOf(h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}))
			if len(got) != len(names) {
				t.Fatalf("scores %v, want one per node", got)
			}
			for node, s := range got {
				if s < extenderv1.MinExtenderPriority || s > extenderv1.MaxExtenderPriority {
					t.Errorf("%s scored %d, outside 0..10", node, s)
				}
			}
			if got[tc.best] != extenderv1.MaxExtenderPriority {
				t.Errorf("scores %v: want %s best", got, tc.best)
			}
			for _, unfit := range []string{"full", "t4", "ghost"} {
				if got[unfit] != 0 {
					t.Errorf("%s, which the pod does not fit, scored %d", unfit, got[unfit])
				}
			}
		})
	}
}

// busyCluster has two vGPU nodes and a node of two cards whose first card
// is busy and second idle, as Prometheus measures them.
func busyCluster() ([]runtime.Object, *load.Snapshot) {
	objs := []runtime.Object{
		extendertest.MakeNode("busy").VGPUCards(1, "T4").Obj(),
		extendertest.MakeNode("idle").VGPUCards(1, "T4").Obj(),
		extendertest.MakeNode("mixed").VGPUCards(2, "T4").Obj(),
	}
	util := func(node string, card int, u float64) load.CardSample {
		return load.CardSample{Node: node, Index: card, UUID: fmt.Sprintf("GPU-%s-%d", node, card), Load: load.CardLoad{Util: u, HasUtil: true}}
	}
	return objs, load.NewSnapshot(extendertest.Epoch, util("busy", 0, 95), util("idle", 0, 3), util("mixed", 0, 90), util("mixed", 1, 2))
}

func TestPrioritizeWithLoad(t *testing.T) {
	objs, snap := busyCluster()
	names := []string{"busy", "idle"}
	pod := extendertest.MakePod("p").VGPU(0, 50, 8).Obj()

	l := &staticLoad{snap: snap}
	h := newHarness(t, harnessOptions{policy: placement.PolicyAuto, load: l}, objs...)
	got := scoresOf(h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}))
	if got["idle"] != 10 || got["busy"] >= got["idle"] {
		t.Fatalf("with load: scores %v, want the idle node best", got)
	}

	stale := newHarness(t, harnessOptions{policy: placement.PolicyAuto, load: &staticLoad{}}, objs...)
	got = scoresOf(stale.ext.Prioritize(stale.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}))
	if got["idle"] != got["busy"] {
		t.Fatalf("without load: scores %v, want the two alike nodes alike", got)
	}

	unmeasured := []string{"busy", "idle", "ghost-metrics"}
	h.state.SetNode(extendertest.MakeNode("ghost-metrics").VGPUCards(1, "T4").Obj())
	h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &unmeasured})
	if l.missing != 1 {
		t.Fatalf("nodes without load recorded: %d, want 1", l.missing)
	}
}

func TestShareGoesToTheIdleCard(t *testing.T) {
	objs, snap := busyCluster()
	for _, tc := range []struct {
		name string
		load LoadView
		card int
	}{
		{"with load: the idle card", &staticLoad{snap: snap}, 1},
		{"without load: the first card", &staticLoad{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{policy: placement.PolicyAuto, load: tc.load}, objs...)
			h.create(extendertest.MakePod("p").VGPU(0, 50, 8).Obj())
			if err := h.bind("p", "mixed"); err != nil {
				t.Fatal(err)
			}
			a, err := api.DecodeAssignment(h.pod("p").Annotations[api.AnnotationAssigned])
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Containers[0].Cards[0].Index; got != tc.card {
				t.Fatalf("share went to card %d, want %d", got, tc.card)
			}
		})
	}
}

func TestPrioritizeHonoursTheWrittenTypeOrder(t *testing.T) {
	cluster := []runtime.Object{
		extendertest.MakeNode("v100-empty").Whole(8, "V100").Obj(),
		extendertest.MakeNode("t4-half").Whole(4, "T4").Obj(),
		extendertest.MakeNode("t4-empty").Whole(4, "T4").Obj(),
		extendertest.MakePod("a").GPUs(2).On("t4-half").Obj(),
	}
	names := []string{"v100-empty", "t4-half", "t4-empty"}
	cases := []struct {
		name   string
		types  []string
		policy string
		order  []string // best first
	}{
		{"T4 before V100, spread among the T4s", []string{"T4", "V100"}, placement.PolicySpread, []string{"t4-empty", "t4-half", "v100-empty"}},
		{"T4 before V100, binpack among the T4s", []string{"T4", "V100"}, placement.PolicyBinpack, []string{"t4-half", "t4-empty", "v100-empty"}},
		{"V100 before T4", []string{"V100", "T4"}, placement.PolicyBinpack, []string{"v100-empty", "t4-half", "t4-empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{policy: tc.policy}, cluster...)
			got := scoresOf(h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: extendertest.MakePod("p").GPUs(1).Types(tc.types...).Obj(), NodeNames: &names}))
			if got[tc.order[0]] != 10 || got[tc.order[0]] <= got[tc.order[1]] || got[tc.order[1]] <= got[tc.order[2]] {
				t.Fatalf("scores %v, want the order %v", got, tc.order)
			}
		})
	}
}
