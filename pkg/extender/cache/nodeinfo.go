package cache

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// nodeInfo is what the extender takes from a Node object: its cards (without
// allocations) and how it hands them out. It is immutable once built.
type nodeInfo struct {
	cards []placement.Card
	// wholeResource is the device-plugin resource the node advertises, if
	// any: whole cards of other vendors' resources are not served here.
	wholeResource corev1.ResourceName
	wholeCards    bool
	vgpu          bool
	cpuMilli      int64
	memMiB        int64
	// sharing is the backend of the node's shares; units the pools it
	// hands out by count (MIG instances, time-slicing replicas).
	sharing placement.Sharing
	units   []placement.Units
	// err says why the node cannot be placed on (a corrupt devices
	// annotation); the node is then filtered with it as the reason.
	err error
}

// nodeInfoFrom reads the node's cards from the node agent's devices
// annotation, or, without one, from its capacity and gpu-type label.
func nodeInfoFrom(node *corev1.Node, v *request.Vocabulary) *nodeInfo {
	alloc := node.Status.Allocatable
	if alloc == nil {
		alloc = node.Status.Capacity
	}
	info := &nodeInfo{
		cpuMilli: alloc.Cpu().MilliValue(),
		memMiB:   alloc.Memory().Value() / mib,
	}
	var wholeCount int64
	for _, r := range v.WholeResources {
		if q, ok := alloc[r]; ok && q.Value() > 0 {
			info.wholeResource, wholeCount = r, q.Value()
			break
		}
	}
	info.wholeCards = wholeCount > 0
	coreCount := int64(0)
	if q, ok := alloc[v.CoreResource]; ok {
		coreCount = q.Value()
	}
	info.vgpu = node.Labels[v.LabelVGPU] == "true" || coreCount > 0
	if err := readSharing(node, v, info); err != nil {
		info.err = err
		return info
	}
	if info.sharing == placement.SharingHAMi {
		return info
	}
	// A MIG node of the single strategy, or a time-slicing node without
	// renameByDefault, advertises its instances or replicas as whole cards:
	// they are what the device plugin hands out, not the physical cards
	// the devices annotation lists.
	byCapacity := (info.sharing == placement.SharingMIG || info.sharing == placement.SharingTimeslice) && len(info.units) == 0

	if raw, ok := node.Annotations[api.AnnotationDevices]; ok && !byCapacity {
		devices, err := api.DecodeDevices(raw)
		if err != nil {
			info.err = fmt.Errorf("%s: annotation %s is unreadable, fix or remove it (the node agent rewrites it): %w",
				node.Name, api.AnnotationDevices, err)
			return info
		}
		if len(devices) > placement.MaxCards {
			info.err = fmt.Errorf("%s: %d cards, at most %d are supported", node.Name, len(devices), placement.MaxCards)
			return info
		}
		info.cards = make([]placement.Card, len(devices))
		for i, d := range devices {
			info.cards[i] = placement.Card{Index: d.Index, UUID: d.UUID, Type: v.InternType(d.Type), MemoryMiB: d.MemoryMiB}
		}
		return info
	}

	// No devices annotation (no node agent, or not yet): as many cards as the
	// device plugin or the vGPU manager advertises, of the labelled type.
	count := wholeCount
	if count == 0 && v.CoresPerCard > 0 {
		count = coreCount / v.CoresPerCard
	}
	if count == 0 {
		return info
	}
	typ := v.InternType(node.Labels[v.LabelGPUType])
	if typ == "" {
		info.err = fmt.Errorf("%s: advertises %d cards but has neither the %s annotation nor a %s label to tell their type",
			node.Name, count, api.AnnotationDevices, v.LabelGPUType)
		return info
	}
	if count > placement.MaxCards {
		info.err = fmt.Errorf("%s: %d cards, at most %d are supported", node.Name, count, placement.MaxCards)
		return info
	}
	memory, _ := strconv.ParseInt(node.Labels[api.LabelGPUMemory], 10, 64)
	if memory <= 0 && v.TypeMemoryMiB != nil {
		memory, _ = v.TypeMemoryMiB(typ)
	}
	info.cards = make([]placement.Card, count)
	for i := range info.cards {
		info.cards[i] = placement.Card{Index: i, Type: typ, MemoryMiB: max(memory, 0)}
	}
	return info
}

const mib = 1 << 20
