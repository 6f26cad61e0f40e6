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
	// Devices are the cards, each with its type: the catalog type its
	// product matches, or one derived from the product name.
	Devices api.Devices
	// Unknown are the cards whose product matches no catalog type (or a
	// type of another vendor than the default one, which NVML cannot see):
	// they are typed by catalog.DeriveTypeName, and still used.
	Unknown []discovery.Card
	// Types counts the cards of each type, most numerous first.
	Types []TypeCount
}

// TypeCount is how many cards of one type the node holds.
type TypeCount struct {
	Type  string
	Count int
}

// Classify maps each card to the catalog type its product name matches; a
// product the catalog does not list is typed by a name derived from it, so
// that a card sold after the catalog was written is still usable.
func Classify(inv discovery.Inventory, cat *catalog.Catalog) NodeGPUs {
	g := NodeGPUs{Inventory: inv}
	counts := map[string]int{}
	nvidia := cat.DefaultVendor().Name
	for _, c := range inv.Cards {
		name := ""
		if t, ok := cat.MatchProduct(c.Product); ok && t.Vendor == nvidia {
			name = t.Name
		} else {
			g.Unknown = append(g.Unknown, c)
			name = catalog.DeriveTypeName(c.Product)
		}
		g.Devices = append(g.Devices, api.Device{Index: c.Index, UUID: c.UUID, Type: name, Product: c.Product, MemoryMiB: c.MemoryMiB,
			MIG: deviceMIG(c.MIG)})
		counts[name]++
	}
	for t, n := range counts {
		g.Types = append(g.Types, TypeCount{Type: t, Count: n})
	}
	slices.SortFunc(g.Types, func(a, b TypeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	return g
}

// Labelable reports whether there are cards to describe by labels.
func (g NodeGPUs) Labelable() bool { return len(g.Devices) > 0 }

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

// devicesStep judges the cards found. Cards the catalog does not list are
// usable, typed by their product name; the message says so, and how to give
// them a catalog type.
func devicesStep(g NodeGPUs, cat *catalog.Catalog) StepResult {
	r := StepResult{Step: StepDevices, Verdict: NotReady}
	if len(g.Inventory.Cards) == 0 {
		r.Reason = "NoCards"
		r.Message = "NVML reports no cards"
		return r
	}
	r.Verdict = Ready
	var notes []string
	if len(g.Unknown) > 0 {
		r.Reason = "ProductNotInCatalog"
		var names []string
		for _, c := range g.Unknown {
			names = append(names, fmt.Sprintf("card %d %q", c.Index, c.Product))
		}
		notes = append(notes, fmt.Sprintf("%s not in the catalog: typed %s from the product name and used as such; to give it a catalog type (and aliases, shares sized by its memory), add the product name to a type's products in the catalog (--catalog)",
			strings.Join(names, ", "), derivedNames(g.Unknown)))
	}
	if len(g.Types) > 1 {
		r.Reason = cmp.Or(r.Reason, "MixedTypes")
		notes = append(notes, fmt.Sprintf("%d cards of several types (%s): the agent sets no %s label, since the device plugin hands out any of them; requests naming a type do not land here unless the label is set by hand",
			len(g.Devices), g.summary(), cat.Labels.GPUType))
		r.Message = strings.Join(notes, "; ")
		return r
	}
	r.Reason = cmp.Or(r.Reason, "CardsFound")
	notes = append([]string{fmt.Sprintf("%d cards: %s (%s, %d MiB)", len(g.Devices), g.summary(), g.Devices[0].Product, g.MinMemoryMiB())}, notes...)
	if mig := g.migSummary(); mig != "" {
		notes = append(notes, mig)
	}
	r.Message = strings.Join(notes, "; ")
	return r
}

// migSummary lists the MIG instances of the cards in MIG mode, "" when
// none is: "MIG: card 0 3g.40gb, 2g.20gb; card 1 none".
func (g NodeGPUs) migSummary() string {
	var cards []string
	for _, d := range g.Devices {
		if d.MIG == nil {
			continue
		}
		var ps []string
		for _, in := range d.MIG.Instances {
			ps = append(ps, in.Profile)
		}
		cards = append(cards, fmt.Sprintf("card %d %s", d.Index, cmp.Or(strings.Join(ps, ", "), "no instances")))
	}
	if len(cards) == 0 {
		return ""
	}
	return "MIG: " + strings.Join(cards, "; ")
}

// derivedNames lists the distinct derived types of cards, in order.
func derivedNames(cards []discovery.Card) string {
	var names []string
	for _, c := range cards {
		if n := catalog.DeriveTypeName(c.Product); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// deviceMIG is the annotation's form of a card's MIG state.
func deviceMIG(m *discovery.MIG) *api.DeviceMIG {
	if m == nil {
		return nil
	}
	out := &api.DeviceMIG{Instances: make([]api.MIGInstance, len(m.Instances))}
	for i, in := range m.Instances {
		out.Instances[i] = api.MIGInstance{Profile: in.Profile, UUID: in.UUID, Start: in.Start, Size: in.Size}
	}
	return out
}
