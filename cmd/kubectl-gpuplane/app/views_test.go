package app

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
)

func vocabulary(t testing.TB) *request.Vocabulary {
	t.Helper()
	return request.VocabularyFrom(catalog.Default())
}

// node is a GPU node as the node agent writes it: n cards of typ with
// memMiB each in the devices annotation, and the capacity of the device
// plugin (whole) or gpu-manager (vgpu).
func node(name, typ string, n int, memMiB int64, vgpu bool, conds ...corev1.NodeCondition) corev1.Node {
	devices := make(api.Devices, n)
	for i := range devices {
		devices[i] = api.Device{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", name, i), Type: typ, MemoryMiB: memMiB}
	}
	ann, err := api.EncodeDevices(devices)
	if err != nil {
		panic(err)
	}
	capacity := corev1.ResourceList{}
	labels := map[string]string{"gpu": "true", "gpu-type": typ}
	if vgpu {
		labels["vgpu"] = "true"
		capacity["tencent.com/vcuda-core"] = *resource.NewQuantity(int64(n*100), resource.DecimalSI)
	} else {
		capacity["nvidia.com/gpu"] = *resource.NewQuantity(int64(n), resource.DecimalSI)
	}
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{api.AnnotationDevices: ann}},
		Status:     corev1.NodeStatus{Capacity: capacity, Allocatable: capacity, Conditions: conds},
	}
}

func wholePod(ns, name, nodeName string, n int64, request string) corev1.Pod {
	limits := corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(n, resource.DecimalSI)}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{}},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{
			Name: "main", Resources: corev1.ResourceRequirements{Limits: limits, Requests: limits},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if request != "" {
		p.Annotations[api.AnnotationGPU] = request
	}
	if nodeName == "" {
		p.Status.Phase = corev1.PodPending
	}
	return p
}

// sharePod is a vGPU pod of cores (of 100) and memory units of 256Mi, with the
// extender's assignment of those to cards when nodeName is set.
func sharePod(ns, name, nodeName string, cores, units int64, cards ...int) corev1.Pod {
	limits := corev1.ResourceList{
		"tencent.com/vcuda-core":   *resource.NewQuantity(cores, resource.DecimalSI),
		"tencent.com/vcuda-memory": *resource.NewQuantity(units, resource.DecimalSI),
	}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			api.AnnotationGPU: strconv.FormatFloat(float64(cores)/100, 'f', -1, 64),
		}},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{
			Name: "main", Resources: corev1.ResourceRequirements{Limits: limits, Requests: limits},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if nodeName != "" && len(cards) > 0 {
		per := cores / int64(len(cards))
		if per > 100 {
			per = 100
		}
		ca := api.ContainerAssignment{Index: 0, Name: "main"}
		for _, c := range cards {
			ca.Cards = append(ca.Cards, api.CardShare{Index: c, Cores: int(per), MemoryMiB: units * 256 / int64(len(cards))})
		}
		raw, err := api.EncodeAssignment(api.Assignment{Node: nodeName, Containers: []api.ContainerAssignment{ca}})
		if err != nil {
			panic(err)
		}
		p.Annotations[api.AnnotationAssigned] = raw
	}
	return p
}

func cond(t string, s corev1.ConditionStatus, reason string) corev1.NodeCondition {
	return corev1.NodeCondition{Type: corev1.NodeConditionType(t), Status: s, Reason: reason, Message: reason + " message"}
}

// freeOf is what a test compares of a node view: whole cards free and per
// card the free share (thousandths) and memory.
type freeOf struct {
	WholeFree int
	Milli     []int64
	MemMiB    []int64
	Pods      int
	Problems  int
}

func summary(n NodeView) freeOf {
	f := freeOf{WholeFree: n.WholeFree, Pods: n.Pods, Problems: len(n.Problems)}
	for _, c := range n.Cards {
		f.Milli = append(f.Milli, c.FreeMilli)
		f.MemMiB = append(f.MemMiB, c.FreeMemMiB)
	}
	return f
}

func TestNodeViewsFreeCards(t *testing.T) {
	v := vocabulary(t)
	const t4 = 15360 // a T4's memory as the simulated node agent writes it
	done := wholePod("a", "done", "v", 4, "4(V100)")
	done.Status.Phase = corev1.PodSucceeded
	badAssign := sharePod("a", "elsewhere", "s", 50, 20, 0)
	badAssign.Annotations[api.AnnotationAssigned] = `{"version":"v1","node":"other","containers":[{"index":0,"name":"main","cards":[{"index":0,"cores":50,"memoryMiB":5120}]}]}`
	for _, tc := range []struct {
		name string
		node corev1.Node
		pods []corev1.Pod
		want freeOf
	}{
		{
			name: "idle node",
			node: node("v", "V100", 4, 32768, false),
			want: freeOf{WholeFree: 4, Milli: []int64{1000, 1000, 1000, 1000}, MemMiB: []int64{32768, 32768, 32768, 32768}},
		},
		{
			name: "whole cards by count; pods elsewhere, pending or done hold nothing",
			node: node("v", "V100", 4, 32768, false),
			pods: []corev1.Pod{
				wholePod("a", "two", "v", 2, "2(V100)"), wholePod("a", "other-node", "w", 1, "1"),
				wholePod("a", "pending", "", 8, "8(V100)"), done,
			},
			want: freeOf{WholeFree: 2, Milli: []int64{1000, 1000, 1000, 1000}, MemMiB: []int64{32768, 32768, 32768, 32768}, Pods: 1},
		},
		{
			name: "more whole cards taken than the node has: none free, not negative",
			node: node("v", "V100", 2, 32768, false),
			pods: []corev1.Pod{wholePod("a", "x", "v", 2, ""), wholePod("a", "y", "v", 1, "")},
			want: freeOf{WholeFree: 0, Milli: []int64{1000, 1000}, MemMiB: []int64{32768, 32768}, Pods: 2},
		},
		{
			name: "shares on the cards the assignment names",
			node: node("s", "T4", 3, t4, true),
			pods: []corev1.Pod{
				sharePod("a", "half", "s", 50, 30, 1),     // 7680 MiB on card 1
				sharePod("a", "fifth", "s", 20, 10, 1),    // 2560 MiB on card 1
				sharePod("a", "whole-v", "s", 100, 60, 2), // all of card 2's cores
			},
			want: freeOf{WholeFree: 1, Milli: []int64{1000, 300, 0}, MemMiB: []int64{t4, t4 - 7680 - 2560, 0}, Pods: 3},
		},
		{
			name: "a vGPU pod without a readable assignment is a problem, not a share",
			node: node("s", "T4", 2, t4, true),
			pods: []corev1.Pod{sharePod("a", "unassigned", "s", 50, 20), badAssign},
			want: freeOf{WholeFree: 2, Milli: []int64{1000, 1000}, MemMiB: []int64{t4, t4}, Pods: 2, Problems: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			views := NodeViews([]corev1.Node{tc.node}, tc.pods, v)
			if len(views) != 1 {
				t.Fatalf("%d views, want 1: %+v", len(views), views)
			}
			if got := summary(views[0]); !reflect.DeepEqual(tc.want, got) {
				t.Errorf("free cards:\ngot  %+v\nwant %+v\nproblems: %q", got, tc.want, views[0].Problems)
			}
		})
	}
}

func TestNodeViewsWhichNodes(t *testing.T) {
	v := vocabulary(t)
	cpu := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cpu-only"}}
	labelled := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "labelled", Labels: map[string]string{"gpu-type": "T4", api.LabelGPUCount: "2"}},
	}
	corrupt := node("corrupt", "T4", 1, 15360, false)
	corrupt.Annotations[api.AnnotationDevices] = "[{"
	views := NodeViews([]corev1.Node{node("b", "V100", 1, 32768, false), cpu, labelled, corrupt}, nil, v)
	var got []string
	for _, n := range views {
		got = append(got, fmt.Sprintf("%s %s %d %d", n.Name, n.Type, len(n.Cards), len(n.Problems)))
	}
	// A T4's memory comes from the catalog when no label gives it.
	want := []string{"b V100 1 0", "corrupt  0 1", "labelled T4 2 0"}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("nodes shown:\ngot  %+v\nwant %+v", got, want)
	}
	if m := views[2].Cards[0].MemoryMiB; m != 16384 {
		t.Errorf("labelled node's T4 has %d MiB, want the catalog's 16384", m)
	}
}

func TestConditions(t *testing.T) {
	n := node("n", "T4", 1, 15360, false,
		cond(api.ConditionDriverReady, corev1.ConditionTrue, "DriverLoaded"),
		cond(api.ConditionExporterReady, corev1.ConditionFalse, "NoExporter"),
		cond("Ready", corev1.ConditionTrue, "KubeletReady"))
	got := conditions(&n)
	want := []ConditionView{
		{Type: api.ConditionDriverReady, Status: "True", Reason: "DriverLoaded", Message: "DriverLoaded message"},
		{Type: api.ConditionRuntimeReady, Status: "Unknown", Reason: "NotReported", Message: "the node agent has not written this condition"},
		{Type: api.ConditionDevicePluginReady, Status: "Unknown", Reason: "NotReported", Message: "the node agent has not written this condition"},
		{Type: api.ConditionExporterReady, Status: "False", Reason: "NoExporter", Message: "NoExporter message"},
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("conditions:\ngot  %+v\nwant %+v", got, want)
	}
	if cell, want := conditionsCell(got, false), "1/4 ready Runtime=Unknown,DevicePlugin=Unknown,Exporter=False"; cell != want {
		t.Errorf("conditions cell %q, want %q", cell, want)
	}
}

func TestPodViews(t *testing.T) {
	v := vocabulary(t)
	pending := wholePod("b", "eight", "", 8, "8(V100)")
	pending.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
	noGPU := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}, Spec: corev1.PodSpec{NodeName: "v", Containers: []corev1.Container{{Name: "c"}}}}
	handWritten := wholePod("a", "by-hand", "v", 1, "")
	both := wholePod("a", "both", "v", 1, "1")
	both.Spec.Containers[0].Resources.Limits["tencent.com/vcuda-core"] = *resource.NewQuantity(50, resource.DecimalSI)
	got := PodViews([]corev1.Pod{pending, noGPU, sharePod("a", "half", "s", 50, 30, 1), handWritten, sharePod("a", "two-v", "s", 200, 120, 0, 1), both}, v)
	want := []PodView{
		{Namespace: "a", Name: "both", Request: "1", Node: "v", State: "Running",
			Problem: `unusable GPU request: container "main" asks for both nvidia.com/gpu and tencent.com/vcuda-core; a container gets whole cards or vGPU, not both`},
		{Namespace: "a", Name: "by-hand", Request: "1", Node: "v", Cards: "1 whole", State: "Running"},
		{Namespace: "a", Name: "half", Request: "0.5", Node: "s", Cards: "1:50%/7.5Gi", State: "Running"},
		{Namespace: "a", Name: "two-v", Request: "2", Node: "s", Cards: "0:100%/15Gi,1:100%/15Gi", State: "Running"},
		{Namespace: "b", Name: "eight", Request: "8(V100)", State: "Pending (Unschedulable)"},
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("pods:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestFormatAmounts(t *testing.T) {
	for _, tc := range []struct {
		mib  int64
		want string
	}{{0, "0Mi"}, {512, "512Mi"}, {1024, "1Gi"}, {1536, "1.5Gi"}, {15360, "15Gi"}, {32768, "32Gi"}, {144384, "141Gi"}} {
		if got := formatMiB(tc.mib); got != tc.want {
			t.Errorf("formatMiB(%d) = %q, want %q", tc.mib, got, tc.want)
		}
	}
	for _, tc := range []struct {
		milli int64
		want  string
	}{{0, "0"}, {250, "0.25"}, {500, "0.5"}, {1000, "1"}} {
		if got := formatMilli(tc.milli); got != tc.want {
			t.Errorf("formatMilli(%d) = %q, want %q", tc.milli, got, tc.want)
		}
	}
}
