package cache

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// readSharing reads how the node shares its cards, from the node alone —
// not from the catalog's pools: the node agent's sharing label, HAMi's
// registration annotation, and the MIG and time-slicing resources its
// device plugin advertises. A HAMi node's cards come from its registration
// (info.cards); MIG instances and time-slicing replicas become units.
func readSharing(node *corev1.Node, v *request.Vocabulary, info *nodeInfo) error {
	alloc := node.Status.Allocatable
	if alloc == nil {
		alloc = node.Status.Capacity
	}
	for r, q := range alloc {
		name := string(r)
		isMIG := v.MIGResourcePrefix != "" && strings.HasPrefix(name, v.MIGResourcePrefix)
		if (isMIG || r == v.TimesliceResource) && q.Value() > 0 {
			_, unit, _ := strings.Cut(name, "/")
			info.units = append(info.units, placement.Units{Name: unit, Total: q.Value()})
		}
	}
	slices.SortFunc(info.units, func(a, b placement.Units) int { return strings.Compare(a.Name, b.Name) })

	label, labelled := node.Labels[v.LabelSharing]
	raw, registered := node.Annotations[hami.AnnotationRegister]
	switch {
	case labelled && label != "":
		s, err := placement.ParseSharing(label)
		if err != nil {
			return fmt.Errorf("%s: label %s: %w", node.Name, v.LabelSharing, err)
		}
		info.sharing = s
	case registered:
		info.sharing = placement.SharingHAMi
	case len(info.units) > 0 && info.units[0].Name == unitOf(v.TimesliceResource) && len(info.units) == 1:
		info.sharing = placement.SharingTimeslice
	case len(info.units) > 0:
		info.sharing = placement.SharingMIG
	}
	if info.sharing != placement.SharingHAMi {
		return nil
	}
	if !registered {
		return fmt.Errorf("%s: labelled %s=hami but HAMi's device plugin has not registered its cards (annotation %s) yet",
			node.Name, v.LabelSharing, hami.AnnotationRegister)
	}
	ds, err := hami.DecodeRegistration(raw)
	if err != nil {
		return fmt.Errorf("%s: HAMi's registration is unreadable (HAMi's device plugin rewrites it): %w", node.Name, err)
	}
	return hamiCards(node, v, ds, info)
}

func unitOf(r corev1.ResourceName) string {
	_, name, _ := strings.Cut(string(r), "/")
	return name
}

// hamiCards turns HAMi's registered cards into the node's: the healthy
// ones HAMi shares through HAMi-core, with their split count as task
// slots. A card's catalog type is the node agent's where its devices
// annotation lists the card, else the catalog type of the product name
// HAMi registered, else the node's gpu-type label.
func hamiCards(node *corev1.Node, v *request.Vocabulary, ds []hami.Device, info *nodeInfo) error {
	agentTypes := map[string]string{}
	if raw, ok := node.Annotations[api.AnnotationDevices]; ok {
		if devices, err := api.DecodeDevices(raw); err == nil {
			for _, d := range devices {
				agentTypes[d.UUID] = d.Type
			}
		}
	}
	info.vgpu = true
	for _, d := range ds {
		if !d.Health || d.Mode != hami.ModeHAMiCore {
			continue // HAMi hands out neither unhealthy cards nor, through shares, MIG or MPS ones
		}
		typ, ok := agentTypes[d.UUID]
		if !ok && v.TypeOfProduct != nil {
			typ, ok = v.TypeOfProduct(strings.TrimPrefix(d.Type, "NVIDIA-"))
		}
		if !ok {
			typ = node.Labels[v.LabelGPUType]
		}
		if typ == "" {
			return fmt.Errorf("%s: HAMi registers card %s as %q, which no catalog type's products match, and the node has no %s label",
				node.Name, d.UUID, d.Type, v.LabelGPUType)
		}
		info.cards = append(info.cards, placement.Card{Index: d.Index, UUID: d.UUID, Type: typ, MemoryMiB: d.MemoryMiB, Slots: d.Split})
	}
	if len(info.cards) > placement.MaxCards {
		return fmt.Errorf("%s: %d cards, at most %d are supported", node.Name, len(info.cards), placement.MaxCards)
	}
	slices.SortFunc(info.cards, func(a, b placement.Card) int { return a.Index - b.Index })
	return nil
}
