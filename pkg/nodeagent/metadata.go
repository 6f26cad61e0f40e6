package nodeagent

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// The rule of the node's labels (docs/nodeagent.md, "Whose label is it"):
// the agent writes its labels and annotation by server-side apply under
// FieldManager, so the API server records which keys it wrote. It changes
// and removes only those; a key that someone else set is never changed,
// and where the agent would write another value it keeps the person's,
// says so (a node Event and GPUDriverReady's message) and schedules by it.

// ownedKeys are the label and annotation keys the agent may write.
func ownedKeys(cat *catalog.Catalog) (labels, annotations []string) {
	return []string{cat.Labels.GPU, cat.Labels.GPUType, cat.Labels.VGPU, api.LabelGPUCount, api.LabelGPUMemory,
			catalog.PoolLabel, catalog.SharingLabel, catalog.MIGProfileLabel},
		[]string{api.AnnotationDevices}
}

// written is what the agent applied earlier and still owns: the keys of
// the node's labels and annotations in its field manager's entry.
type written struct {
	Labels, Annotations map[string]bool
}

// writtenBy reads the keys FieldManager owns from the node's managed fields.
// Keys written by other managers, or before the agent used server-side
// apply (merge patches), are not the agent's.
func writtenBy(node *corev1.Node) (written, error) {
	ac, err := corev1ac.ExtractNode(node, FieldManager)
	if err != nil {
		return written{}, fmt.Errorf("reading which labels of node %q the agent wrote: %w", node.Name, err)
	}
	w := written{Labels: map[string]bool{}, Annotations: map[string]bool{}}
	for k := range ac.Labels {
		w.Labels[k] = true
	}
	for k := range ac.Annotations {
		w.Annotations[k] = true
	}
	return w, nil
}

// nodeSetup is how the operator set the node up, from the agent's flags.
type nodeSetup struct {
	// vgpu is --vgpu: without it the agent writes no vgpu label (and
	// removes only one it wrote itself).
	vgpu bool
	// pool is --pool: the gpuplane.io/pool label, written only when given.
	pool string
	// sharing is --sharing, or the sharing of pool in the catalog: the
	// gpuplane.io/sharing label, written only when known.
	sharing string
}

// newNodeSetup reads the setup from the options, the sharing from the
// catalog's pool when not given.
func newNodeSetup(opts Options, cat *catalog.Catalog) nodeSetup {
	s := nodeSetup{vgpu: opts.VGPU, pool: opts.Pool, sharing: opts.Sharing}
	if s.sharing == "" && s.pool != "" {
		for _, p := range cat.Pools {
			if p.Name == s.pool {
				s.sharing = string(p.Sharing)
				break
			}
		}
	}
	return s
}

// desiredLabels are the labels the node's cards and its setup call for.
// A node whose cards are all in MIG mode with instances of one profile
// also gets gpuplane.io/mig.profile=<profile> (the resource's spelling,
// 1g.10gb.me for 1g.10gb+me): the layout the device plugin's single
// strategy serves.
func desiredLabels(g NodeGPUs, setup nodeSetup, cat *catalog.Catalog) map[string]string {
	want := map[string]string{}
	if !g.Labelable() {
		return want
	}
	want[cat.Labels.GPU] = "true"
	if t, ok := g.SingleType(); ok {
		want[cat.Labels.GPUType] = t
	}
	if setup.vgpu {
		want[cat.Labels.VGPU] = "true"
	}
	if setup.pool != "" {
		want[catalog.PoolLabel] = setup.pool
	}
	if setup.sharing != "" {
		want[catalog.SharingLabel] = setup.sharing
	}
	if p, ok := singleMIGProfile(g.Devices); ok {
		want[catalog.MIGProfileLabel] = strings.ReplaceAll(p, "+", ".")
	}
	want[api.LabelGPUCount] = strconv.Itoa(len(g.Devices))
	want[api.LabelGPUMemory] = strconv.FormatInt(g.MinMemoryMiB(), 10)
	return want
}

// singleMIGProfile returns the profile of a node's MIG instances when every
// card is in MIG mode and all instances are of one profile.
func singleMIGProfile(ds api.Devices) (string, bool) {
	for _, d := range ds {
		if d.MIG == nil {
			return "", false
		}
	}
	profiles, _ := ds.MIGProfiles()
	if len(profiles) != 1 {
		return "", false
	}
	return profiles[0], true
}

// keptKey is a label or annotation someone else set to another value than
// the agent would write.
type keptKey struct {
	Kind, Key, Have, Want string
}

// metadataPlan is what a pass applies: every key the agent wants to own
// (a key it owns and leaves out is removed by the API server), and the keys
// it keeps as someone else set them.
type metadataPlan struct {
	Labels, Annotations map[string]string
	Kept                []keptKey
	// Changes: applying the plan would change the node.
	Changes bool
	// TypedAs is the type the node's cards are scheduled as when a kept
	// gpu-type label names it, else "".
	TypedAs string
}

// planMetadata decides the node's labels and devices annotation for the
// cards found, by the rule above. The gpu label is never removed: it is
// what the agent's DaemonSet selects nodes by, and removing it from a node
// whose cards cannot be read would take the agent, and the condition saying
// why, off the node.
func planMetadata(node *corev1.Node, g NodeGPUs, setup nodeSetup, cat *catalog.Catalog, w written) (metadataPlan, error) {
	p := metadataPlan{Labels: desiredLabels(g, setup, cat), Annotations: map[string]string{}}
	p.Kept = keepForeign(node.Labels, p.Labels, w.Labels, "label")

	if have, ok := node.Labels[cat.Labels.GPUType]; ok && !w.Labels[cat.Labels.GPUType] && len(g.Types) == 1 && have != g.Types[0].Type {
		// A person's type label is the type the cards are scheduled as: the
		// webhook turns "2(V100)" into gpu-type In (V100), and the extender
		// must then count these cards as V100 too.
		p.TypedAs = have
	}
	if have, ok := node.Labels[cat.Labels.GPUType]; ok && !w.Labels[cat.Labels.GPUType] && len(g.Types) > 1 {
		p.Kept = append(p.Kept, keptKey{Kind: "label", Key: cat.Labels.GPUType, Have: have})
	}
	if g.Labelable() {
		devices := slices.Clone(g.Devices)
		if p.TypedAs != "" {
			for i := range devices {
				devices[i].Type = p.TypedAs
			}
		}
		enc, err := api.EncodeDevices(devices)
		if err != nil {
			return p, fmt.Errorf("encoding the devices annotation: %w", err)
		}
		p.Annotations[api.AnnotationDevices] = enc
		p.Kept = append(p.Kept, keepForeign(node.Annotations, p.Annotations, w.Annotations, "annotation")...)
	}
	if w.Labels[cat.Labels.GPU] {
		if _, ok := p.Labels[cat.Labels.GPU]; !ok {
			if v, ok := node.Labels[cat.Labels.GPU]; ok {
				p.Labels[cat.Labels.GPU] = v
			}
		}
	}
	p.Changes = differs(node.Labels, p.Labels, w.Labels) || differs(node.Annotations, p.Annotations, w.Annotations)
	return p, nil
}

// keepForeign drops from want every key that have holds with another value
// and the agent did not write, and returns those keys.
func keepForeign(have, want map[string]string, mine map[string]bool, kind string) []keptKey {
	var kept []keptKey
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if cur, ok := have[k]; ok && cur != want[k] && !mine[k] {
			kept = append(kept, keptKey{Kind: kind, Key: k, Have: cur, Want: want[k]})
			delete(want, k)
		}
	}
	return kept
}

// differs reports whether applying want would change have: a wanted value
// is missing or different, or a key the agent wrote is no longer wanted
// (and would be removed).
func differs(have, want map[string]string, mine map[string]bool) bool {
	for k, v := range want {
		if cur, ok := have[k]; !ok || cur != v {
			return true
		}
	}
	for k := range mine {
		if _, ok := want[k]; !ok {
			return true
		}
	}
	return false
}

// keptNote says which of a person's labels the agent keeps against what it
// would write, for GPUDriverReady's message and the node Event; "" when none.
func (p metadataPlan) keptNote(cat *catalog.Catalog) string {
	var parts []string
	for _, k := range p.Kept {
		if k.Kind == "annotation" {
			parts = append(parts, fmt.Sprintf("annotation %s set by someone else is kept (the agent would write %s)", k.Key, k.Want))
			continue
		}
		if k.Want == "" {
			parts = append(parts, fmt.Sprintf("label %s=%s set by someone else is kept on a node of several types: requests naming %s land here and may be given any of its cards",
				k.Key, k.Have, k.Have))
			continue
		}
		s := fmt.Sprintf("label %s=%s set by someone else is kept (the agent would write %s=%s)", k.Key, k.Have, k.Key, k.Want)
		if k.Key == cat.Labels.GPUType && p.TypedAs != "" {
			s += fmt.Sprintf("; the cards are scheduled as %s", p.TypedAs)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "; remove it to let the agent set it"
}
