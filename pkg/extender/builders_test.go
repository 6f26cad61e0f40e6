package extender

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

var (
	testVoc = VocabularyFrom(catalog.Default())
	epoch   = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
)

// podBuilder builds test pods: makePod("p").gpus(2).types("V100").obj().
type podBuilder struct{ p *corev1.Pod }

func makePod(name string) *podBuilder {
	return &podBuilder{p: &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}},
	}}
}

func (b *podBuilder) obj() *corev1.Pod { return b.p }

func (b *podBuilder) limit(container int, r corev1.ResourceName, q string) *podBuilder {
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

func (b *podBuilder) request(container int, r corev1.ResourceName, q string) *podBuilder {
	c := &b.p.Spec.Containers[container]
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	c.Resources.Requests[r] = resource.MustParse(q)
	return b
}

// gpus asks for n whole nvidia cards in the first container.
func (b *podBuilder) gpus(n int) *podBuilder {
	return b.limit(0, "nvidia.com/gpu", fmt.Sprint(n))
}

// vgpu asks for vGPU cores and memory units in a container.
func (b *podBuilder) vgpu(container int, cores, memUnits int) *podBuilder {
	b.limit(container, testVoc.CoreResource, fmt.Sprint(cores))
	if memUnits > 0 {
		b.limit(container, testVoc.MemoryResource, fmt.Sprint(memUnits))
	}
	return b
}

// types adds the required "gpu-type In (...)" affinity the webhook writes.
func (b *podBuilder) types(ts ...string) *podBuilder {
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

func (b *podBuilder) on(node string) *podBuilder {
	b.p.Spec.NodeName = node
	return b
}

func (b *podBuilder) phase(p corev1.PodPhase) *podBuilder {
	b.p.Status.Phase = p
	return b
}

func (b *podBuilder) annotate(k, v string) *podBuilder {
	if b.p.Annotations == nil {
		b.p.Annotations = map[string]string{}
	}
	b.p.Annotations[k] = v
	return b
}

// assigned writes the assignment annotation for container 0 on node.
func (b *podBuilder) assigned(node string, shares ...api.CardShare) *podBuilder {
	b.on(node)
	v, err := api.EncodeAssignment(api.Assignment{Node: node, Containers: []api.ContainerAssignment{{Index: 0, Name: "main", Cards: shares}}})
	if err != nil {
		panic(err)
	}
	return b.annotate(api.AnnotationAssigned, v)
}

// nodeBuilder builds test nodes.
type nodeBuilder struct{ n *corev1.Node }

func makeNode(name string) *nodeBuilder {
	return &nodeBuilder{n: &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"),
		}},
	}}
}

func (b *nodeBuilder) obj() *corev1.Node { return b.n }

// whole gives the node n cards of typ through the device plugin, listed in
// the devices annotation.
func (b *nodeBuilder) whole(n int, typ string) *nodeBuilder {
	b.n.Labels["gpu"], b.n.Labels["gpu-type"] = "true", typ
	b.n.Status.Allocatable["nvidia.com/gpu"] = resource.MustParse(fmt.Sprint(n))
	return b.devices(n, typ)
}

// vgpuCards gives the node n cards of typ through the vGPU manager.
func (b *nodeBuilder) vgpuCards(n int, typ string) *nodeBuilder {
	b.n.Labels["gpu"], b.n.Labels["vgpu"], b.n.Labels["gpu-type"] = "true", "true", typ
	b.n.Status.Allocatable[testVoc.CoreResource] = resource.MustParse(fmt.Sprint(n * 100))
	return b.devices(n, typ)
}

func (b *nodeBuilder) devices(n int, typ string) *nodeBuilder {
	mem, _ := testVoc.TypeMemoryMiB(typ)
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

func (b *nodeBuilder) annotate(k, v string) *nodeBuilder {
	b.n.Annotations[k] = v
	return b
}

func (b *nodeBuilder) noDevices() *nodeBuilder {
	delete(b.n.Annotations, api.AnnotationDevices)
	return b
}

// newTestState returns an empty state on a fake clock.
func newTestState(t testing.TB) (*State, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(epoch)
	return NewState(testVoc, clk, time.Minute, testLogger(t)), clk
}

func testLogger(t testing.TB) klog.Logger {
	if tt, ok := t.(*testing.T); ok {
		logger, _ := ktesting.NewTestContext(tt)
		return logger
	}
	return klog.Background()
}

func fakeClock() *clocktesting.FakeClock { return clocktesting.NewFakeClock(epoch) }
