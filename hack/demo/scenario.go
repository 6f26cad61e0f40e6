package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/api/hami"
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
	// pool is the node's catalog pool (the agent's --pool), whose backend
	// shares its cards; "" is the default pool.
	pool string
	// hamiSplit is, on a HAMi node, how many tasks HAMi's device plugin lets
	// share one card (its deviceSplitCount).
	hamiSplit int
	// mig are the MIG instances of each card, by profile: the cards are in
	// MIG mode.
	mig []string
}

// fakeDevices is the node agent's --fake-devices value.
func (n demoNode) fakeDevices() string {
	if len(n.mig) > 0 {
		return fmt.Sprintf("%dx%s(%s)", n.cards, n.typ, strings.Join(n.mig, "|"))
	}
	return fmt.Sprintf("%dx%s", n.cards, n.typ)
}

// describe is the node as the demo's output shows it.
func (n demoNode) describe() string {
	s := fmt.Sprintf("%s (%d x %s", n.name, n.cards, n.typ)
	if n.vgpu {
		s += ", vGPU"
	}
	if n.hamiSplit > 0 {
		s += ", HAMi"
	}
	if len(n.mig) > 0 {
		s += ", MIG " + strings.Join(n.mig, "+")
	}
	for _, k := range slices.Sorted(maps.Keys(n.labels)) {
		s += ", " + k + "=" + n.labels[k]
	}
	return s + ")"
}

// capacity is what the device plugin (whole cards) or gpu-manager (vGPU) would
// advertise for the node's cards; neither runs here, so the demo writes it.
func (n demoNode) capacity(cat *catalog.Catalog) (map[string]string, error) {
	switch {
	case n.hamiSplit > 0:
		// HAMi's device plugin advertises each card split count times.
		return map[string]string{catalog.HAMiResource: strconv.Itoa(n.cards * n.hamiSplit)}, nil
	case len(n.mig) > 0:
		// The NVIDIA device plugin (mixed strategy) advertises each profile.
		out := map[string]string{}
		for _, p := range n.mig {
			r := catalog.MIGResourcePrefix + p
			k, _ := strconv.Atoi(out[r])
			out[r] = strconv.Itoa(k + n.cards)
		}
		return out, nil
	}
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

// hamiRegistration is, for a HAMi node, the annotation HAMi's device plugin
// writes with the cards it shares (HAMi v2.8's JSON); nil for other nodes.
// No HAMi device plugin runs here, so the demo writes it.
func (n demoNode) hamiRegistration(cat *catalog.Catalog) (map[string]string, error) {
	if n.hamiSplit == 0 {
		return nil, nil
	}
	t, ok := cat.Type(n.typ)
	if !ok {
		return nil, fmt.Errorf("node %s: type %q is not in the catalog", n.name, n.typ)
	}
	ds := make([]hami.Device, n.cards)
	for i := range ds {
		ds[i] = hami.Device{UUID: fmt.Sprintf("GPU-%s-%d", n.name, i), Index: i, Split: n.hamiSplit, MemoryMiB: t.MemoryMiB,
			Cores: 100, Type: "NVIDIA " + t.Name, Health: true, Mode: hami.ModeHAMiCore}
	}
	reg, err := hami.EncodeRegistration(ds)
	if err != nil {
		return nil, fmt.Errorf("node %s: HAMi's registration: %w", n.name, err)
	}
	return map[string]string{hami.AnnotationRegister: reg}, nil
}

func demoNodes() []demoNode {
	return []demoNode{
		{name: "gpu-v100", cards: 8, typ: "V100"},
		{name: "gpu-t4", cards: 2, typ: "T4", labels: map[string]string{"notebook": "true"}},
		{name: "vgpu-a100", cards: 4, typ: "A100", vgpu: true},
		{name: "hami-l4", cards: 2, typ: "L4", pool: "hami", hamiSplit: 4},
		{name: "mig-h100", cards: 2, typ: "H100", pool: "mig", mig: []string{"3g.40gb", "2g.20gb", "1g.10gb"}},
	}
}

// demoCatalog is the built-in catalog with the demo's pools: shares of L4
// go through HAMi, MIG instances come from H100s, and the other types'
// shares through gpu-manager, on the nodes without a pool label.
const demoCatalog = `apiVersion: gpuplane.io/v1alpha1
kind: GPUCatalog
pools:
  - name: default
    types: [A100, V100, T4]
  - name: hami
    types: [L4]
    sharing: hami
    hami:
      splitCount: 4
  - name: mig
    types: [H100]
    sharing: mig
`

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
		// Shares of L4 go through HAMi; a MIG profile to an H100's instance.
		{name: "half-l4", gpu: "0.5(L4)"},
		{name: "mig-small", gpu: "1(mig-1g.10gb)"},
		{name: "v100-or-a100", gpu: "2(V100|A100)"},
		{name: "notebook", gpu: "1", role: "notebook"},
		// Four V100s are left after the two pods above: this one waits, and says why.
		{name: "eight-v100", gpu: "8(V100)"},
		{name: "bad-syntax", gpu: "2(V100"},
		{name: "bad-fraction", gpu: "1.5", deployment: true},
	}
}
