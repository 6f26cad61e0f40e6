package nodeagent

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

// NodeGPUs is what the node holds, in the catalog's terms.
type NodeGPUs struct {
	Inventory discovery.Inventory
	// Devices are the cards whose product maps to a catalog type.
	Devices api.Devices
	// Unknown are the cards whose product matches no catalog type (or a
	// type of another vendor than the default one, which NVML cannot see).
	Unknown []discovery.Card
	// Types counts the cards of each type, most numerous first.
	Types []TypeCount
}

// TypeCount is how many cards of one type the node holds.
type TypeCount struct {
	Type  string
	Count int
}

// Classify maps each card to the catalog type its product name matches.
func Classify(inv discovery.Inventory, cat *catalog.Catalog) NodeGPUs {
	g := NodeGPUs{Inventory: inv}
	counts := map[string]int{}
	nvidia := cat.DefaultVendor().Name
	for _, c := range inv.Cards {
		t, ok := cat.MatchProduct(c.Product)
		if !ok || t.Vendor != nvidia {
			g.Unknown = append(g.Unknown, c)
			continue
		}
		g.Devices = append(g.Devices, api.Device{Index: c.Index, UUID: c.UUID, Type: t.Name, Product: c.Product, MemoryMiB: c.MemoryMiB})
		counts[t.Name]++
	}
	for t, n := range counts {
		g.Types = append(g.Types, TypeCount{Type: t, Count: n})
	}
	slices.SortFunc(g.Types, func(a, b TypeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	return g
}

// Labelable reports whether the node's cards can be described by labels:
// at least one card, and every card of a known type. A node with an
// unknown card is not labelled at all rather than labelled with what is
// only partly true.
func (g NodeGPUs) Labelable() bool { return len(g.Devices) > 0 && len(g.Unknown) == 0 }

// SingleType returns the type of the node's cards when they are all of one.
func (g NodeGPUs) SingleType() (string, bool) {
	if !g.Labelable() || len(g.Types) != 1 {
		return "", false
	}
	return g.Types[0].Type, true
}

// MinMemoryMiB is the smallest card's memory: the label promises no more
// than every card has.
func (g NodeGPUs) MinMemoryMiB() int64 {
	var m int64
	for i, d := range g.Devices {
		if i == 0 || d.MemoryMiB < m {
			m = d.MemoryMiB
		}
	}
	return m
}

// summary is "8xV100" or "4xV100, 4xT4".
func (g NodeGPUs) summary() string {
	parts := make([]string, 0, len(g.Types))
	for _, t := range g.Types {
		parts = append(parts, fmt.Sprintf("%dx%s", t.Count, t.Type))
	}
	return strings.Join(parts, ", ")
}

// driverStep judges the NVML result.
func driverStep(inv discovery.Inventory, err error) StepResult {
	r := StepResult{Step: StepDriver}
	if err == nil {
		r.Verdict, r.Reason = Ready, "DriverLoaded"
		r.Message = fmt.Sprintf("NVIDIA driver %s, CUDA %s", inv.DriverVersion, inv.CUDADriverVersion)
		return r
	}
	r.Verdict = NotReady
	switch {
	case errors.Is(err, discovery.ErrLibraryNotFound):
		r.Reason = "NVMLLibraryNotFound"
		r.Message = fmt.Sprintf("%v: install the NVIDIA driver, and mount its libraries into the agent's container", err)
	case errors.Is(err, discovery.ErrDriverNotLoaded):
		r.Reason = "DriverNotLoaded"
		r.Message = fmt.Sprintf("%v: load the kernel module (modprobe nvidia) or reboot after installing the driver", err)
	case errors.Is(err, discovery.ErrDriverMismatch):
		r.Reason = "DriverVersionMismatch"
		r.Message = fmt.Sprintf("%v: reboot (or reload the kernel module) after the driver upgrade", err)
	case errors.Is(err, discovery.ErrNoPermission):
		r.Reason = "NoPermission"
		r.Message = fmt.Sprintf("%v: run the agent privileged or give it the /dev/nvidia* devices", err)
	default:
		r.Reason = "NVMLError"
		r.Message = err.Error()
	}
	return r
}

// devicesStep judges the cards found.
func devicesStep(g NodeGPUs, cat *catalog.Catalog) StepResult {
	r := StepResult{Step: StepDevices, Verdict: NotReady}
	switch {
	case len(g.Inventory.Cards) == 0:
		r.Reason = "NoCards"
		r.Message = "NVML reports no cards"
		return r
	case len(g.Unknown) > 0:
		r.Reason = "UnknownProduct"
		var names []string
		for _, c := range g.Unknown {
			names = append(names, fmt.Sprintf("card %d %q", c.Index, c.Product))
		}
		r.Message = fmt.Sprintf("%s match no %s type of the catalog (known: %s): the node gets no type, count, memory or devices annotation; add the product name to a type's products in the catalog (--catalog)",
			strings.Join(names, ", "), cat.DefaultVendor().Name, strings.Join(cat.TypeNames(), ", "))
		return r
	}
	r.Verdict = Ready
	if len(g.Types) > 1 {
		r.Reason = "MixedTypes"
		r.Message = fmt.Sprintf("%d cards of several types (%s): the %s label is not set, since the device plugin hands out any of them; requests naming a type do not land here",
			len(g.Devices), g.summary(), cat.Labels.GPUType)
		return r
	}
	r.Reason = "CardsFound"
	r.Message = fmt.Sprintf("%d cards: %s (%s, %d MiB)", len(g.Devices), g.summary(), g.Devices[0].Product, g.MinMemoryMiB())
	return r
}
