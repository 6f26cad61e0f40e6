package nodeagent

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// metadataChange is what the agent wants of the node's labels and
// annotations: a value to set, or nil to remove. Keys absent from the maps
// are left alone; only keys the agent owns ever appear.
type metadataChange struct {
	Labels      map[string]*string
	Annotations map[string]*string
}

// ownedLabels are the label keys the agent sets or removes.
func ownedLabels(cat *catalog.Catalog) []string {
	return []string{cat.Labels.GPU, cat.Labels.GPUType, cat.Labels.VGPU, api.LabelGPUCount, api.LabelGPUMemory}
}

// desiredMetadata is what the node's owned labels and annotation should be
// for g. discovered is false when NVML could not be read: the labels are
// then left as they are, since a passing driver hiccup must not make pods
// lose their node (the driver condition says what is wrong).
//
// The gpu label is set, never removed: it is also what the agent's own
// DaemonSet selects nodes by (admins set it first), and removing it from a
// node whose cards are unknown would take the agent, and the condition
// explaining why, off the node. Without the type, count, memory and
// devices annotation, the extender still keeps pods off such a node.
func desiredMetadata(g NodeGPUs, discovered bool, vgpu bool, cat *catalog.Catalog) (metadataChange, error) {
	ch := metadataChange{Labels: map[string]*string{}, Annotations: map[string]*string{}}
	if !discovered {
		return ch, nil
	}
	for _, k := range ownedLabels(cat) {
		if k != cat.Labels.GPU {
			ch.Labels[k] = nil
		}
	}
	if !g.Labelable() {
		ch.Annotations[api.AnnotationDevices] = nil
		return ch, nil
	}
	devices, err := api.EncodeDevices(g.Devices)
	if err != nil {
		return ch, fmt.Errorf("encoding the devices annotation: %w", err)
	}
	ch.Annotations[api.AnnotationDevices] = &devices
	ch.Labels[cat.Labels.GPU] = ptrTo("true")
	if t, ok := g.SingleType(); ok {
		ch.Labels[cat.Labels.GPUType] = &t
	}
	if vgpu {
		ch.Labels[cat.Labels.VGPU] = ptrTo("true")
	}
	ch.Labels[api.LabelGPUCount] = ptrTo(strconv.Itoa(len(g.Devices)))
	ch.Labels[api.LabelGPUMemory] = ptrTo(strconv.FormatInt(g.MinMemoryMiB(), 10))
	return ch, nil
}

// diff keeps only the entries that would change node, so that a node
// already as wanted yields an empty change and no patch is sent.
func (ch metadataChange) diff(node *corev1.Node) metadataChange {
	return metadataChange{
		Labels:      diffStrings(node.Labels, ch.Labels),
		Annotations: diffStrings(node.Annotations, ch.Annotations),
	}
}

func (ch metadataChange) empty() bool { return len(ch.Labels) == 0 && len(ch.Annotations) == 0 }

func diffStrings(have map[string]string, want map[string]*string) map[string]*string {
	out := map[string]*string{}
	for k, v := range want {
		cur, ok := have[k]
		switch {
		case v == nil && ok:
			out[k] = nil
		case v != nil && (!ok || cur != *v):
			out[k] = v
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
