package extender

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// bestCluster has whole-card nodes at several levels of use and a vGPU node
// whose cards are partly shared.
func bestCluster() []runtime.Object {
	return []runtime.Object{
		extendertest.MakeNode("empty").Whole(8, "V100").Obj(),
		extendertest.MakeNode("empty-2").Whole(8, "V100").Obj(),
		extendertest.MakeNode("half").Whole(8, "V100").Obj(),
		extendertest.MakeNode("half-2").Whole(8, "V100").Obj(),
		extendertest.MakeNode("full").Whole(8, "V100").Obj(),
		extendertest.MakeNode("t4").Whole(4, "T4").Obj(),
		extendertest.MakeNode("a100-vgpu").VGPUCards(2, "A100").Obj(),
		extendertest.MakeNode("a100-vgpu-empty").VGPUCards(2, "A100").Obj(),
		extendertest.MakePod("a").GPUs(4).On("half").Obj(),
		extendertest.MakePod("a2").GPUs(4).On("half-2").Obj(),
		extendertest.MakePod("b").GPUs(8).On("full").Obj(),
		extendertest.MakePod("share").VGPU(0, 60, 0).On("a100-vgpu").Obj(),
		extendertest.MakePod("cpu").Request(0, corev1.ResourceCPU, "16").On("t4").Obj(),
	}
}

// TestFilterBest checks FilterBest against Filter and Prioritize: it keeps
// exactly one node, the one whose name sorts first among the fitting nodes
// Prioritize scores highest (the simulator's tie-break), and gives no
// reasons then; when it keeps none, every node carries Filter's reason.
func TestFilterBest(t *testing.T) {
	names := []string{"empty", "empty-2", "half", "half-2", "full", "t4", "a100-vgpu", "a100-vgpu-empty", "ghost"}
	pods := map[string]*corev1.Pod{
		"2(V100)":    extendertest.MakePod("p").GPUs(2).Types("V100").Obj(),
		"2":          extendertest.MakePod("p").GPUs(2).Obj(),
		"8":          extendertest.MakePod("p").GPUs(8).Obj(),
		"0.3(A100)":  extendertest.MakePod("p").VGPU(0, 30, 0).Types("A100").Obj(),
		"9: no node": extendertest.MakePod("p").GPUs(9).Obj(),
		"no GPU":     extendertest.MakePod("p").Request(0, corev1.ResourceCPU, "8").Obj(),
	}
	want := map[string]map[string][]string{ // policy -> pod -> kept nodes
		placement.PolicyBinpack: {
			"2(V100)": {"half"}, "2": {"half"}, "8": {"empty"},
			"0.3(A100)": {"a100-vgpu"}, "9: no node": {}, "no GPU": {"t4"},
		},
		placement.PolicySpread: {
			"2(V100)": {"empty"}, "2": {"empty"}, "8": {"empty"},
			"0.3(A100)": {"a100-vgpu-empty"}, "9: no node": {}, "no GPU": {"a100-vgpu"},
		},
	}
	for policy, byPod := range want {
		for podName, wantKept := range byPod {
			t.Run(policy+"/"+podName, func(t *testing.T) {
				h := newHarness(t, harnessOptions{policy: policy}, bestCluster()...)
				pod := pods[podName]
				candidates := slices.Clone(names)
				got := h.ext.FilterBest(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &candidates})
				filter := h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &candidates})
				if got.NodeNames == nil {
					t.Fatalf("no node names in %+v", got)
				}
				if !slices.Equal(*got.NodeNames, wantKept) && !(len(*got.NodeNames) == 0 && len(wantKept) == 0) {
					t.Errorf("kept %v, want %v", *got.NodeNames, wantKept)
				}
				wantFailed, wantUnresolvable := filter.FailedNodes, filter.FailedAndUnresolvableNodes
				if len(wantKept) > 0 {
					// A node kept: kube-scheduler reads no reason.
					wantFailed, wantUnresolvable = extenderv1.FailedNodesMap{}, extenderv1.FailedNodesMap{}
				}
				if !reflect.DeepEqual(got.FailedNodes, wantFailed) ||
					!reflect.DeepEqual(got.FailedAndUnresolvableNodes, wantUnresolvable) {
					t.Errorf("reasons:\n got %v %v\nwant %v %v", got.FailedNodes, got.FailedAndUnresolvableNodes,
						wantFailed, wantUnresolvable)
				}
				fitting := *filter.NodeNames
				if len(fitting) == 0 {
					return
				}
				scores := scoresOf(h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &fitting}))
				top := int64(0)
				for _, s := range scores {
					top = max(top, s)
				}
				first := ""
				for _, n := range fitting {
					if scores[n] == top && (first == "" || n < first) {
						first = n
					}
				}
				for _, n := range fitting {
					if kept := slices.Contains(*got.NodeNames, n); kept != (n == first) {
						t.Errorf("%s kept=%v but Prioritize scores it %d (top %d, first of the top %s)", n, kept, scores[n], top, first)
					}
				}
			})
		}
	}
}

// TestFilterBestNodeObjects checks the path without nodeCacheCapable: the
// kept Node object is one of those that came, the first name of the best.
func TestFilterBestNodeObjects(t *testing.T) {
	h := newHarness(t, harnessOptions{policy: placement.PolicyBinpack}, bestCluster()...)
	nodes := &corev1.NodeList{}
	for _, n := range []string{"empty", "half", "full", "half-2"} {
		nodes.Items = append(nodes.Items, *extendertest.MakeNode(n).Whole(8, "V100").Obj())
	}
	got := h.ext.FilterBest(h.ctx, &extenderv1.ExtenderArgs{Pod: extendertest.MakePod("p").GPUs(2).Obj(), Nodes: nodes})
	if got.NodeNames != nil || got.Nodes == nil {
		t.Fatalf("answer %+v, want Node objects", got)
	}
	var kept []string
	for _, n := range got.Nodes.Items {
		kept = append(kept, n.Name)
	}
	if want := []string{"half"}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if len(got.FailedNodes) > 0 || len(got.FailedAndUnresolvableNodes) > 0 {
		t.Errorf("reasons beside a kept node: %v %v", got.FailedNodes, got.FailedAndUnresolvableNodes)
	}
	// Where none fits, every node has its reason.
	none := h.ext.FilterBest(h.ctx, &extenderv1.ExtenderArgs{Pod: extendertest.MakePod("p").GPUs(9).Obj(), Nodes: nodes})
	if len(none.Nodes.Items) != 0 || len(none.FailedNodes)+len(none.FailedAndUnresolvableNodes) != len(nodes.Items) {
		t.Errorf("a pod that fits nowhere: kept %d nodes, reasons %v %v", len(none.Nodes.Items), none.FailedNodes, none.FailedAndUnresolvableNodes)
	}
}
