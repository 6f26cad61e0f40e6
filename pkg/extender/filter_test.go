package extender

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
)

// filterCluster is a small mixed cluster: node-7 has 1 free V100 of 4.
func filterCluster() []runtime.Object {
	return []runtime.Object{
		extendertest.MakeNode("node-7").Whole(4, "V100").Obj(),
		extendertest.MakeNode("v100-free").Whole(4, "V100").Obj(),
		extendertest.MakeNode("t4").Whole(4, "T4").Obj(),
		extendertest.MakeNode("a100-vgpu").VGPUCards(2, "A100").Obj(),
		extendertest.MakeNode("broken").Whole(8, "V100").Annotate(api.AnnotationDevices, "{not json").Obj(),
		extendertest.MakePod("running").GPUs(3).Types("V100").On("node-7").Obj(),
		extendertest.MakePod("share-a").VGPU(0, 60, 0).Assigned("a100-vgpu", api.CardShare{Index: 0, Cores: 60}).Obj(),
		extendertest.MakePod("share-b").VGPU(0, 70, 0).Assigned("a100-vgpu", api.CardShare{Index: 1, Cores: 70}).Obj(),
	}
}

var allFilterNodes = []string{"node-7", "v100-free", "t4", "a100-vgpu", "broken", "ghost"}

func TestFilter(t *testing.T) {
	type want struct {
		fit          []string
		failed       map[string]string // node -> substring of the reason
		unresolvable map[string]string
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		want want
	}{
		{
			name: "2(V100)",
			pod:  extendertest.MakePod("p").GPUs(2).Types("V100").Obj(),
			want: want{
				fit:    []string{"v100-free"},
				failed: map[string]string{"node-7": "node-7: 1 free V100, pod needs 2"},
				unresolvable: map[string]string{
					"t4":        "t4: has T4 cards, pod needs V100",
					"a100-vgpu": "a100-vgpu: does not hand out whole cards",
					"broken":    "broken: annotation gpuplane.io/devices is unreadable",
					"ghost":     "ghost: no such node known to the extender",
				},
			},
		},
		{
			name: "1 card of any type",
			pod:  extendertest.MakePod("p").GPUs(1).Obj(),
			want: want{
				fit: []string{"node-7", "v100-free", "t4"},
				unresolvable: map[string]string{
					"a100-vgpu": "does not hand out whole cards", "broken": "unreadable", "ghost": "no such node",
				},
			},
		},
		{
			name: "0.5 of an A100: no card has half free",
			pod:  extendertest.MakePod("p").VGPU(0, 50, 0).Types("A100").Obj(),
			want: want{
				failed: map[string]string{"a100-vgpu": "a100-vgpu: no A100 card with 500 milli free (the freest has 400 milli"},
				unresolvable: map[string]string{
					"node-7": "does not serve vGPU", "v100-free": "does not serve vGPU", "t4": "does not serve vGPU",
					"broken": "unreadable", "ghost": "no such node",
				},
			},
		},
		{
			name: "0.3 fits the freer card",
			pod:  extendertest.MakePod("p").VGPU(0, 30, 0).Obj(),
			want: want{
				fit: []string{"a100-vgpu"},
				unresolvable: map[string]string{
					"node-7": "does not serve vGPU", "v100-free": "does not serve vGPU", "t4": "does not serve vGPU",
					"broken": "unreadable", "ghost": "no such node",
				},
			},
		},
		{
			name: "unusable request fails every node",
			pod:  extendertest.MakePod("p").VGPU(0, 150, 0).Obj(),
			want: want{unresolvable: map[string]string{
				"node-7":    "node-7: unusable GPU request: container \"main\": tencent.com/vcuda-core 150",
				"v100-free": "v100-free: unusable", "t4": "t4: unusable", "a100-vgpu": "unusable", "broken": "unusable", "ghost": "unusable",
			}},
		},
		{
			// A pod without cards comes to the extender only when the webhook's
			// --placement-resource sends it: it is placed on its CPU and memory,
			// also on a node whose cards are unreadable.
			name: "no GPU: every node the extender knows",
			pod:  extendertest.MakePod("p").Obj(),
			want: want{
				fit:          []string{"node-7", "v100-free", "t4", "a100-vgpu", "broken"},
				unresolvable: map[string]string{"ghost": "no such node"},
			},
		},
	}
	for _, tc := range cases {
		for _, cacheCapable := range []bool{true, false} {
			name := tc.name + map[bool]string{true: " (names)", false: " (nodes)"}[cacheCapable]
			t.Run(name, func(t *testing.T) {
				objs := filterCluster()
				h := newHarness(t, harnessOptions{}, objs...)
				args := &extenderv1.ExtenderArgs{Pod: tc.pod}
				if cacheCapable {
					names := slices.Clone(allFilterNodes)
					args.NodeNames = &names
				} else {
					args.Nodes = &corev1.NodeList{}
					for _, n := range allFilterNodes {
						args.Nodes.Items = append(args.Nodes.Items, *extendertest.MakeNode(n).Obj())
					}
				}
				res := h.ext.Filter(h.ctx, args)
				if res.Error != "" {
					t.Fatalf("error %q", res.Error)
				}
				var fit []string
				if cacheCapable {
					if res.NodeNames == nil || res.Nodes != nil {
						t.Fatalf("with node names in, want node names out; got %+v", res)
					}
					fit = *res.NodeNames
				} else {
					if res.Nodes == nil || res.NodeNames != nil {
						t.Fatalf("with nodes in, want nodes out; got %+v", res)
					}
					for _, n := range res.Nodes.Items {
						fit = append(fit, n.Name)
					}
				}
				if !reflect.DeepEqual(fit, tc.want.fit) && !(len(fit) == 0 && len(tc.want.fit) == 0) {
					t.Errorf("fit %q, want %q", fit, tc.want.fit)
				}
				checkReasons(t, "FailedNodes", res.FailedNodes, tc.want.failed)
				checkReasons(t, "FailedAndUnresolvableNodes", res.FailedAndUnresolvableNodes, tc.want.unresolvable)
			})
		}
	}
}

func checkReasons(t *testing.T, what string, got extenderv1.FailedNodesMap, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %q, want nodes %q", what, got, want)
	}
	for node, sub := range want {
		if r, ok := got[node]; !ok || !strings.Contains(r, sub) {
			t.Errorf("%s[%s] = %q, want it to contain %q", what, node, r, sub)
		}
	}
}

func TestFilterWithoutPod(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if res := h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{}); res.Error == "" {
		t.Fatal("filter without a pod must answer an error")
	}
}

func TestFilterVendor(t *testing.T) {
	amd := extendertest.MakeNode("mi250").Devices(2, "MI250").Obj()
	amd.Labels["gpu"], amd.Labels["gpu-type"] = "true", "MI250"
	amd.Status.Allocatable["amd.com/gpu"] = resource.MustParse("2")
	h := newHarness(t, harnessOptions{}, amd, extendertest.MakeNode("v100").Whole(2, "V100").Obj())
	names := []string{"mi250", "v100"}
	cases := []struct {
		name   string
		pod    *corev1.Pod
		fit    string
		reason string
	}{
		{"nvidia cards", extendertest.MakePod("p").GPUs(1).Obj(), "v100", "mi250: hands out amd.com/gpu, pod needs nvidia.com/gpu"},
		{"amd cards", extendertest.MakePod("p").Limit(0, "amd.com/gpu", "2").Obj(), "mi250", "v100: hands out nvidia.com/gpu, pod needs amd.com/gpu"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: tc.pod, NodeNames: &names})
			if !reflect.DeepEqual(*res.NodeNames, []string{tc.fit}) {
				t.Fatalf("fit %q, want %q", *res.NodeNames, tc.fit)
			}
			var reasons []string
			for _, r := range res.FailedAndUnresolvableNodes {
				reasons = append(reasons, r)
			}
			if !slices.Contains(reasons, tc.reason) {
				t.Fatalf("reasons %q, want %q", reasons, tc.reason)
			}
		})
	}
}
