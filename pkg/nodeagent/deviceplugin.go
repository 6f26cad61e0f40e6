package nodeagent

import (
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// devicePluginDirStep is check's device plugin step: without the API
// server it cannot see allocatable, so it looks for the vendor's socket in
// the kubelet's device-plugin directory (the NVIDIA plugin registers
// nvidia-gpu.sock, or nvidia-<mig profile>.sock). That shows a plugin is
// registered, not that it advertises every card; the agent checks that. The
// vGPU manager's socket names are not fixed, so vGPU nodes are skipped.
func devicePluginDirStep(dir string, vgpu bool, cat *catalog.Catalog) StepResult {
	r := StepResult{Step: StepDevicePlugin, Verdict: Skipped, Reason: "NoAPIServer"}
	if vgpu {
		r.Message = "skipped (needs the API server): the vGPU device plugin is checked against the node's allocatable by the agent"
		return r
	}
	vendor := cat.DefaultVendor().Name
	sockets, err := pluginSockets(dir, vendor)
	if err != nil {
		r.Message = fmt.Sprintf("skipped (needs the API server, and %s cannot be read: %v; not a Kubernetes node yet?)", dir, err)
		return r
	}
	if len(sockets) == 0 {
		r.Verdict, r.Reason = NotReady, "PluginNotRegistered"
		r.Message = fmt.Sprintf("no %s*.sock in %s: is nvidia-device-plugin running on this node?", vendor, dir)
		return r
	}
	r.Verdict, r.Reason = Ready, "PluginRegistered"
	r.Message = fmt.Sprintf("%s in %s: a %s device plugin is registered with the kubelet (the agent checks that it advertises every card)",
		strings.Join(sockets, ", "), dir, vendor)
	return r
}

// pluginSockets lists the sockets in dir whose name starts with vendor.
func pluginSockets(dir, vendor string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var sockets []string
	for _, e := range entries {
		if e.Type()&fs.ModeSocket != 0 && strings.HasPrefix(e.Name(), vendor) {
			sockets = append(sockets, e.Name())
		}
	}
	sort.Strings(sockets)
	return sockets, nil
}

// registrationHint tells a missing resource's two causes apart when the
// kubelet's device-plugin directory is visible: no plugin at all, or a
// plugin whose resource the kubelet has not advertised (yet).
func registrationHint(dir, vendor string) string {
	if dir == "" {
		return ""
	}
	sockets, err := pluginSockets(dir, vendor)
	switch {
	case err != nil:
		return ""
	case len(sockets) == 0:
		return fmt.Sprintf(" (no %s*.sock in %s either)", vendor, dir)
	}
	return fmt.Sprintf(" (%s is in %s, so the plugin registered but the kubelet does not advertise its cards: see the plugin's and the kubelet's logs)",
		strings.Join(sockets, ", "), dir)
}

// devicePluginStep compares what the node's allocatable advertises with the
// cards found: the default vendor's whole-card resource, or on a vGPU node
// the vGPU core and memory resources. It cannot judge without cards
// (Unknown); without the Node (check) devicePluginDirStep is used. When the
// resource is missing, the kubelet's device-plugin directory (if visible)
// tells whether a plugin registered at all.
func devicePluginStep(node *corev1.Node, g NodeGPUs, discovered, vgpu bool, cat *catalog.Catalog, pluginDir string) StepResult {
	r := StepResult{Step: StepDevicePlugin}
	switch {
	case !discovered || !g.Labelable():
		r.Verdict, r.Reason = Unknown, "CardsUnknown"
		r.Message = "the cards are not known (see the driver condition), so the advertised resources cannot be checked"
		return r
	}
	alloc := node.Status.Allocatable
	if vgpu {
		return vgpuPluginStep(alloc, g, cat)
	}
	res := corev1.ResourceName(cat.DefaultVendor().Resource)
	want := int64(len(g.Devices))
	q, ok := alloc[res]
	switch {
	case !ok:
		r.Verdict, r.Reason = NotReady, "ResourceMissing"
		r.Message = fmt.Sprintf("%s missing from allocatable: is nvidia-device-plugin running on this node?%s", res, registrationHint(pluginDir, cat.DefaultVendor().Name))
	case q.Value() != want:
		r.Verdict, r.Reason = NotReady, "CountMismatch"
		r.Message = fmt.Sprintf("allocatable %s is %d but NVML found %d cards: the device plugin sees another set of cards (restart it after a driver change, or check for unhealthy cards)", res, q.Value(), want)
	default:
		r.Verdict, r.Reason = Ready, "ResourceAdvertised"
		r.Message = fmt.Sprintf("allocatable %s is %d, one per card", res, want)
	}
	return r
}

// vgpuPluginStep checks the vGPU device plugin's resources: cores are
// CoresPerCard per card, memory the cards' memory in the catalog's unit,
// counted per card as the vGPU manager does.
func vgpuPluginStep(alloc corev1.ResourceList, g NodeGPUs, cat *catalog.Catalog) StepResult {
	r := StepResult{Step: StepDevicePlugin, Verdict: NotReady}
	coreRes, memRes := corev1.ResourceName(cat.VGPU.CoreResource), corev1.ResourceName(cat.VGPU.MemoryResource)
	wantCores := int64(len(g.Devices) * cat.VGPU.CoresPerCard)
	var wantMem int64
	for _, d := range g.Devices {
		wantMem += d.MemoryMiB / cat.VGPU.MemoryUnitMiB
	}
	cores, hasCores := alloc[coreRes]
	mem, hasMem := alloc[memRes]
	switch {
	case !hasCores || !hasMem:
		missing := coreRes
		if hasCores {
			missing = memRes
		}
		r.Reason = "ResourceMissing"
		r.Message = fmt.Sprintf("%s missing from allocatable: is the vGPU device plugin (gpu-manager) running on this node?", missing)
	case cores.Value() != wantCores:
		r.Reason = "CountMismatch"
		r.Message = fmt.Sprintf("allocatable %s is %d but %d cards make %d", coreRes, cores.Value(), len(g.Devices), wantCores)
	case mem.Value() != wantMem:
		r.Reason = "CountMismatch"
		r.Message = fmt.Sprintf("allocatable %s is %d but the cards' memory makes %d units of %d MiB", memRes, mem.Value(), wantMem, cat.VGPU.MemoryUnitMiB)
	default:
		r.Verdict, r.Reason = Ready, "ResourceAdvertised"
		r.Message = fmt.Sprintf("allocatable %s is %d and %s is %d, matching %d cards", coreRes, wantCores, memRes, wantMem, len(g.Devices))
	}
	return r
}
