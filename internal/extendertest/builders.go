package extendertest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// Epoch is the time the fake clocks of the tests start at.
var Epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Names the builders write, from the default catalog: the vGPU resources
// and what a type's memory is.
var (
	coreResource   = corev1.ResourceName(catalog.Default().VGPU.CoreResource)
	memoryResource = corev1.ResourceName(catalog.Default().VGPU.MemoryResource)
)

func typeMemoryMiB(typ string) int64 {
	t, _ := catalog.Default().Type(typ)
	return t.MemoryMiB
}

// PodBuilder builds test pods: MakePod("p").gpus(2).types("V100").obj().
type PodBuilder struct{ p *corev1.Pod }

// MakePod starts a pod in namespace default with one container, "main".
func MakePod(name string) *PodBuilder {
	return &PodBuilder{p: &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}},
	}}
}

// Obj is the pod built.
func (b *PodBuilder) Obj() *corev1.Pod { return b.p }

// Limit sets a limit of a container, adding containers up to it.
func (b *PodBuilder) Limit(container int, r corev1.ResourceName, q string) *PodBuilder {
	for len(b.p.Spec.Containers) <= container {
		b.p.Spec.Containers = append(b.p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", len(b.p.Spec.Containers))})
	}
	c := &b.p.Spec.Containers[container]
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	c.Resources.Limits[r] = resource.MustParse(q)
	return b
}

// Request sets a request of an existing container.
func (b *PodBuilder) Request(container int, r corev1.ResourceName, q string) *PodBuilder {
	c := &b.p.Spec.Containers[container]
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	c.Resources.Requests[r] = resource.MustParse(q)
	return b
}

// GPUs asks for n whole nvidia cards in the first container.
func (b *PodBuilder) GPUs(n int) *PodBuilder {
	return b.Limit(0, "nvidia.com/gpu", fmt.Sprint(n))
}

// VGPU asks for vGPU cores and memory units in a container.
func (b *PodBuilder) VGPU(container int, cores, memUnits int) *PodBuilder {
	b.Limit(container, coreResource, fmt.Sprint(cores))
	if memUnits > 0 {
		b.Limit(container, memoryResource, fmt.Sprint(memUnits))
	}
	return b
}

// Types adds the required "gpu-type In (...)" affinity the webhook writes.
func (b *PodBuilder) Types(ts ...string) *PodBuilder {
	b.p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "gpu", Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}},
				{Key: "gpu-type", Operator: corev1.NodeSelectorOpIn, Values: ts},
			},
		}}},
	}}
	return b
}

// On binds the pod to node.
func (b *PodBuilder) On(node string) *PodBuilder {
	b.p.Spec.NodeName = node
	return b
}

// Phase sets the pod's phase.
func (b *PodBuilder) Phase(p corev1.PodPhase) *PodBuilder {
	b.p.Status.Phase = p
	return b
}

// Annotate sets an annotation.
func (b *PodBuilder) Annotate(k, v string) *PodBuilder {
	if b.p.Annotations == nil {
		b.p.Annotations = map[string]string{}
	}
	b.p.Annotations[k] = v
	return b
}

// Assigned writes the assignment annotation for container 0 on node.
func (b *PodBuilder) Assigned(node string, shares ...api.CardShare) *PodBuilder {
	b.On(node)
	v, err := api.EncodeAssignment(api.Assignment{Node: node, Containers: []api.ContainerAssignment{{Index: 0, Name: "main", Cards: shares}}})
	if err != nil {
		panic(err)
	}
	return b.Annotate(api.AnnotationAssigned, v)
}

// NodeBuilder builds test nodes.
type NodeBuilder struct{ n *corev1.Node }

// MakeNode starts a node of 64 CPUs and 512 GiB without cards.
func MakeNode(name string) *NodeBuilder {
	return &NodeBuilder{n: &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"),
		}},
	}}
}

// Obj is the node built.
func (b *NodeBuilder) Obj() *corev1.Node { return b.n }

// Whole gives the node n cards of typ through the device plugin, listed in
// the devices annotation.
func (b *NodeBuilder) Whole(n int, typ string) *NodeBuilder {
	b.n.Labels["gpu"], b.n.Labels["gpu-type"] = "true", typ
	b.n.Status.Allocatable["nvidia.com/gpu"] = resource.MustParse(fmt.Sprint(n))
	return b.Devices(n, typ)
}

// VGPUCards gives the node n cards of typ through the vGPU manager.
func (b *NodeBuilder) VGPUCards(n int, typ string) *NodeBuilder {
	b.n.Labels["gpu"], b.n.Labels["vgpu"], b.n.Labels["gpu-type"] = "true", "true", typ
	b.n.Status.Allocatable[coreResource] = resource.MustParse(fmt.Sprint(n * 100))
	return b.Devices(n, typ)
}

// Devices lists n cards of typ in the devices annotation.
func (b *NodeBuilder) Devices(n int, typ string) *NodeBuilder {
	mem := typeMemoryMiB(typ)
	ds := make(api.Devices, n)
	for i := range ds {
		ds[i] = api.Device{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", b.n.Name, i), Type: typ, MemoryMiB: mem}
	}
	v, err := api.EncodeDevices(ds)
	if err != nil {
		panic(err)
	}
	b.n.Annotations[api.AnnotationDevices] = v
	return b
}

// Annotate sets an annotation.
func (b *NodeBuilder) Annotate(k, v string) *NodeBuilder {
	b.n.Annotations[k] = v
	return b
}

// NoDevices removes the devices annotation.
func (b *NodeBuilder) NoDevices() *NodeBuilder {
	delete(b.n.Annotations, api.AnnotationDevices)
	return b
}

// Logger is a logger that writes to t's log, klog's global one for a
// benchmark.
func Logger(t testing.TB) klog.Logger {
	if tt, ok := t.(*testing.T); ok {
		logger, _ := ktesting.NewTestContext(tt)
		return logger
	}
	return klog.Background()
}

// Clock is a fake clock at Epoch.
func Clock() *clocktesting.FakeClock { return clocktesting.NewFakeClock(Epoch) }

// MustMarshal is v as JSON.
func MustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// SameFilterResult fails unless answer, a filter answer's JSON, decodes to
// what encoding/json's writing of want decodes to: the wire codec's answers
// are held to encoding/json's this way, map order aside.
func SameFilterResult(tb testing.TB, answer []byte, want *extenderv1.ExtenderFilterResult) {
	tb.Helper()
	var got, wantRes extenderv1.ExtenderFilterResult
	if err := json.Unmarshal(answer, &got); err != nil {
		tb.Fatalf("answer %q: %v", answer, err)
	}
	if err := json.Unmarshal(MustMarshal(tb, want), &wantRes); err != nil {
		tb.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantRes) {
		tb.Fatalf("answer %.300s decodes to\n%#v\nwant\n%#v", answer, got, wantRes)
	}
}

// HAMi asks, in a container, for cards cards through HAMi with cores
// percent and memMiB of each (0: not written).
func (b *PodBuilder) HAMi(container, cards, cores int, memMiB int64) *PodBuilder {
	b.Limit(container, "nvidia.com/gpu", fmt.Sprint(cards))
	if cores > 0 {
		b.Limit(container, "nvidia.com/gpucores", fmt.Sprint(cores))
	}
	if memMiB > 0 {
		b.Limit(container, "nvidia.com/gpumem", fmt.Sprint(memMiB))
	}
	return b
}

// HAMiCards gives the node n cards of typ registered by HAMi's device
// plugin (v2.8 JSON format), each split in split tasks, with the capacity
// HAMi's device plugin advertises (n × split nvidia.com/gpu) and the
// sharing label.
func (b *NodeBuilder) HAMiCards(n int, typ string, split int) *NodeBuilder {
	mem := typeMemoryMiB(typ)
	ds := make([]hami.Device, n)
	for i := range ds {
		ds[i] = hami.Device{UUID: fmt.Sprintf("GPU-%s-%d", b.n.Name, i), Index: i, Split: split, MemoryMiB: mem, Cores: 100,
			Type: "NVIDIA-" + typ, Health: true, Mode: hami.ModeHAMiCore}
	}
	v, err := hami.EncodeRegistration(ds)
	if err != nil {
		panic(err)
	}
	b.n.Annotations[hami.AnnotationRegister] = v
	b.n.Labels["gpu"], b.n.Labels["gpu-type"], b.n.Labels["gpuplane.io/sharing"] = "true", typ, "hami"
	b.n.Status.Allocatable["nvidia.com/gpu"] = resource.MustParse(fmt.Sprint(n * split))
	return b
}

// MIG gives the node n MIG instances of profile (the NVIDIA device
// plugin's mixed strategy: nvidia.com/mig-<profile>) and the sharing label.
func (b *NodeBuilder) MIG(profile string, n int) *NodeBuilder {
	b.n.Labels["gpu"], b.n.Labels["gpuplane.io/sharing"] = "true", "mig"
	b.n.Status.Allocatable[corev1.ResourceName("nvidia.com/mig-"+profile)] = resource.MustParse(fmt.Sprint(n))
	return b
}

// Timeslice gives the node replicas time-slicing replicas
// (nvidia.com/gpu.shared) and the sharing label.
func (b *NodeBuilder) Timeslice(replicas int) *NodeBuilder {
	b.n.Labels["gpu"], b.n.Labels["gpuplane.io/sharing"] = "true", "timeslice"
	b.n.Status.Allocatable["nvidia.com/gpu.shared"] = resource.MustParse(fmt.Sprint(replicas))
	return b
}
