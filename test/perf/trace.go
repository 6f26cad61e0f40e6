package perf

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/gpuspec"
	"github.com/gpuplane/gpuplane/pkg/placement"
	"github.com/gpuplane/gpuplane/pkg/sim"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// ErrTraceObject marks a trace row the real path cannot express.
var ErrTraceObject = errors.New("trace row not expressible as a Kubernetes object")

// traceNodePods is the pod capacity of a trace node: the trace bounds a
// node by its CPU, memory and cards only, so the pod count must not bind.
const traceNodePods = "10000"

// TraceNodeSpec is a trace node (sim.ReadNodes) as the node agent, the
// device plugin and the vGPU manager leave it: labelled gpu=true and
// vgpu=true (the trace's nodes hand out whole cards and shares), gpu-type
// the catalog's name of the node's model, the devices annotation with the
// catalog's memory of that type, and as capacity its CPU and memory, the
// whole cards and the vGPU cores and memory units of all its cards. A node
// without cards is a plain node with its CPU and memory.
func TraceNodeSpec(n *placement.Node, cat *catalog.Catalog) (cluster.NodeSpec, error) {
	spec := cluster.NodeSpec{Name: n.Name, Labels: map[string]string{}, Annotations: map[string]string{}, Capacity: map[string]string{"pods": traceNodePods}}
	if n.CPUMilli > 0 {
		spec.Capacity["cpu"] = strconv.FormatInt(n.CPUMilli, 10) + "m"
	}
	if n.MemoryMiB > 0 {
		spec.Capacity["memory"] = strconv.FormatInt(n.MemoryMiB, 10) + "Mi"
	}
	if len(n.Cards) == 0 {
		return spec, nil
	}
	model := n.Cards[0].Type
	t, ok := cat.Type(model)
	if !ok {
		return spec, fmt.Errorf("%w: node %s: model %q is not a type or alias of the catalog", ErrTraceObject, n.Name, model)
	}
	devices := make(api.Devices, len(n.Cards))
	for i, c := range n.Cards {
		if c.Type != model {
			return spec, fmt.Errorf("%w: node %s mixes card models %q and %q", ErrTraceObject, n.Name, model, c.Type)
		}
		devices[i] = api.Device{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", n.Name, i), Type: t.Name, Product: "trace " + model, MemoryMiB: t.MemoryMiB}
	}
	v, err := api.EncodeDevices(devices)
	if err != nil {
		return spec, fmt.Errorf("node %s: %w", n.Name, err)
	}
	cards := int64(len(n.Cards))
	spec.Annotations[api.AnnotationDevices] = v
	spec.Labels[cat.Labels.GPU] = "true"
	spec.Labels[cat.Labels.VGPU] = "true"
	spec.Labels[cat.Labels.GPUType] = t.Name
	spec.Labels[api.LabelGPUCount] = strconv.FormatInt(cards, 10)
	spec.Labels[api.LabelGPUMemory] = strconv.FormatInt(t.MemoryMiB, 10)
	spec.Capacity[cat.DefaultVendor().Resource] = strconv.FormatInt(cards, 10)
	spec.Capacity[cat.VGPU.CoreResource] = strconv.FormatInt(cards*int64(cat.VGPU.CoresPerCard), 10)
	spec.Capacity[cat.VGPU.MemoryResource] = strconv.FormatInt(cards*t.MemoryMiB/cat.VGPU.MemoryUnitMiB, 10)
	return spec, nil
}

// TraceRequest is the gpuplane.io/gpu annotation a user writes for a
// trace pod's GPU request: "N" or "N(T1|T2)" for whole cards, "0.47" or
// "0.47(T4)" for a share (the webhook sizes its memory), each model named
// once, "0" for a pod
// without GPU (the webhook sends it to gpuplane's scheduler, as a pod of
// the GPU nodes). A share finer than the hundredth of a card cannot be
// written.
func TraceRequest(r *placement.Request) (string, error) {
	if r.Cards == 0 {
		return "0", nil
	}
	var b strings.Builder
	if r.IsShare() {
		if r.Milli%10 != 0 {
			return "", fmt.Errorf("%w: a share of %d milli is finer than the hundredth of a card a request can write", ErrTraceObject, r.Milli)
		}
		b.WriteString(gpuspec.FormatHundredths(int(r.Milli / 10)))
	} else {
		b.WriteString(strconv.Itoa(r.Cards))
	}
	if len(r.Types) > 0 {
		// A model named twice (the names are case-insensitive) is named
		// once: the request allows a set of models.
		var types []string
		for _, t := range r.Types {
			if !slices.ContainsFunc(types, func(u string) bool { return strings.EqualFold(u, t) }) {
				types = append(types, t)
			}
		}
		b.WriteString("(" + strings.Join(types, "|") + ")")
	}
	return b.String(), nil
}

// TracePod is the pod a user submits for a trace pod: one container
// requesting the pod's CPU and memory, and the gpuplane.io/gpu annotation
// (TraceRequest), which the webhook turns into resources, node affinity and
// gpuplane's scheduler.
func TracePod(name, namespace string, p *sim.Pod) (*corev1.Pod, error) {
	req, err := TraceRequest(&p.Request)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", p.Name, err)
	}
	requests := corev1.ResourceList{}
	if p.Request.CPUMilli > 0 {
		requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(p.Request.CPUMilli, resource.DecimalSI)
	}
	if p.Request.MemoryMiB > 0 {
		requests[corev1.ResourceMemory] = *resource.NewQuantity(p.Request.MemoryMiB<<20, resource.BinarySI)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"trace-pod": p.Name},
			Annotations: map[string]string{api.AnnotationGPU: req}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "none", Resources: corev1.ResourceRequirements{Requests: requests}}},
		},
	}, nil
}
