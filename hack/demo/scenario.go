package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// demoNamespace holds the demo's pods; the webhook configurations leave out only
// kube-system and gpuplane-system.
const demoNamespace = "demo"

// systemNamespace is where the webhook keeps its certificate Secret (--self-signed).
const systemNamespace = "gpuplane-system"

// demoNode is a simulated GPU node: a Node object with a node agent whose NVML is
// replaced by described cards.
type demoNode struct {
	name  string
	cards int
	typ   string
	// vgpu shares the cards through vGPU (the agent's --vgpu).
	vgpu bool
	// labels are the ones an admin adds (roles); the agent writes the rest.
	labels map[string]string
}

// fakeDevices is the node agent's --fake-devices value.
func (n demoNode) fakeDevices() string { return fmt.Sprintf("%dx%s", n.cards, n.typ) }

// describe is the node as the demo's output shows it.
func (n demoNode) describe() string {
	s := fmt.Sprintf("%s (%d x %s", n.name, n.cards, n.typ)
	if n.vgpu {
		s += ", vGPU"
	}
	for _, k := range slices.Sorted(maps.Keys(n.labels)) {
		s += ", " + k + "=" + n.labels[k]
	}
	return s + ")"
}

// capacity is what the device plugin (whole cards) or gpu-manager (vGPU) would
// advertise for the node's cards; neither runs here, so the demo writes it.
func (n demoNode) capacity(cat *catalog.Catalog) (map[string]string, error) {
	if !n.vgpu {
		return map[string]string{cat.DefaultVendor().Resource: strconv.Itoa(n.cards)}, nil
	}
	t, ok := cat.Type(n.typ)
	if !ok {
		return nil, fmt.Errorf("node %s: type %q is not in the catalog", n.name, n.typ)
	}
	v := cat.VGPU
	return map[string]string{
		v.CoreResource:   strconv.Itoa(n.cards * v.CoresPerCard),
		v.MemoryResource: strconv.FormatInt(int64(n.cards)*t.MemoryMiB/v.MemoryUnitMiB, 10),
	}, nil
}

func demoNodes() []demoNode {
	return []demoNode{
		{name: "gpu-v100", cards: 8, typ: "V100"},
		{name: "gpu-t4", cards: 2, typ: "T4", labels: map[string]string{"notebook": "true"}},
		{name: "vgpu-a100", cards: 4, typ: "A100", vgpu: true},
	}
}

// request is one submission: a pod, or a Deployment whose template the validating
// webhook checks.
type request struct {
	name string
	gpu  string
	role string
	// deployment submits a Deployment instead of a pod.
	deployment bool
}

// demoRequests are submitted one after another, each waiting for its outcome, so
// that every run places them the same way.
func demoRequests() []request {
	return []request{
		{name: "one-t4", gpu: "1(T4)"},
		{name: "two-v100", gpu: "2(V100)"},
		{name: "one-vgpu", gpu: "1(VGPU)"},
		{name: "half-a100", gpu: "0.5(A100)"},
		{name: "v100-or-a100", gpu: "2(V100|A100)"},
		{name: "notebook", gpu: "1", role: "notebook"},
		// Four V100s are left after the two pods above: this one waits, and says why.
		{name: "eight-v100", gpu: "8(V100)"},
		{name: "bad-syntax", gpu: "2(V100"},
		{name: "bad-fraction", gpu: "1.5", deployment: true},
	}
}
