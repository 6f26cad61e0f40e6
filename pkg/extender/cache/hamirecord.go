package cache

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// UnitHold is what a pod holds of one pool of units of its node.
type UnitHold struct {
	Name  string
	Count int64
}

// addUnits adds n units of the named pool to holds.
func addUnits(holds []UnitHold, name string, n int64) []UnitHold {
	for i := range holds {
		if holds[i].Name == name {
			holds[i].Count += n
			return holds
		}
	}
	return append(holds, UnitHold{Name: name, Count: n})
}

// bookUnits books what rec holds of a pool.
func (s *NodeSnapshot) bookUnits(rec *podRecord, u UnitHold) {
	n := &s.node
	for i := range n.Units {
		p := &n.Units[i]
		if p.Name != u.Name {
			continue
		}
		p.Used += u.Count
		if p.Used > p.Total {
			s.overbooked = append(s.overbooked, fmt.Sprintf("%s holds %d %s but only %d are left", rec.key, u.Count, u.Name, p.Total-(p.Used-u.Count)))
			p.Used = p.Total
		}
		return
	}
	s.overbooked = append(s.overbooked, fmt.Sprintf("%s holds %d %s, which the node does not have", rec.key, u.Count, u.Name))
}

// positionOfUUID is where the card of that UUID sits in n.Cards, or -1.
func positionOfUUID(n *placement.Node, uuid string) int {
	for i := range n.Cards {
		if n.Cards[i].UUID == uuid {
			return i
		}
	}
	return -1
}

// hamiHeld is what a pod's HAMi allocation annotation says it holds.
type hamiHeld struct {
	shares []CardShare
	// parts are the containers whose HAMi share or virtual cards the
	// annotation names; whole tells that it names the pod's whole cards.
	parts map[int]bool
	whole bool
}

// hamiAllocation reads the cards of a HAMi pod from HAMi's
// hami.io/vgpu-devices-allocated (what HAMi's own scheduler rebuilds from,
// and what its device plugin was told) into out, when the pod has HAMi
// parts or whole cards and the annotation is readable and names the node
// the pod is bound to. A container whose cards do not match its request
// (count) is left to be booked on the first cards that hold it; the
// amounts are at least what the pod's resources ask, since whoever may
// edit the pod may edit its annotations but not its resources.
func (r *podRecord) hamiAllocation(pod *corev1.Pod, req *request.Pod, out *hamiHeld) bool {
	raw, ok := pod.Annotations[hami.AnnotationAllocated]
	if !ok {
		if req.HAMi() {
			r.problem = "HAMi pod without " + hami.AnnotationAllocated + ": booked on the first cards that hold it"
		}
		return false
	}
	if node := pod.Annotations[hami.AnnotationNode]; node != pod.Spec.NodeName {
		r.problem = fmt.Sprintf("%s names node %q but the pod is bound to %s: booked on the first cards that hold it", hami.AnnotationNode, node, pod.Spec.NodeName)
		return false
	}
	pd, err := hami.DecodePodDevices(raw)
	if err != nil {
		r.problem = err.Error() + ": booked on the first cards that hold it"
		return false
	}
	out.parts = map[int]bool{}
	given := func(ci int) []hami.ContainerDevice {
		if ci < len(pd) {
			return pd[ci]
		}
		return nil
	}
	for _, p := range req.Parts {
		if p.Req.Sharing != placement.SharingHAMi || p.Req.IsUnits() || p.Req.Cards == 0 {
			continue
		}
		devs := given(p.Container)
		if len(devs) != p.Req.Cards {
			r.problem = fmt.Sprintf("%s gives container %d %d cards but it asks for %d: booked on the first cards that hold it",
				hami.AnnotationAllocated, p.Container, len(devs), p.Req.Cards)
			continue
		}
		out.parts[p.Container] = true
		for _, d := range devs {
			sh := CardShare{Container: p.Container, UUID: d.UUID, Milli: placement.MilliPerCard, MemoryMiB: d.MemoryMiB}
			if p.Req.IsShare() {
				sh.Milli = max(int64(d.Cores)*placement.MilliPerCard/100, p.Req.Milli)
				sh.MemoryMiB = max(sh.MemoryMiB, p.Req.CardMemoryMiB)
			}
			out.shares = append(out.shares, sh)
		}
	}
	if req.WholeCounts != nil {
		var whole []CardShare
		ok := true
		for ci, n := range req.WholeCounts {
			devs := given(ci)
			if n == 0 {
				continue
			}
			if len(devs) != n {
				ok = false
				break
			}
			for _, d := range devs {
				whole = append(whole, CardShare{Container: ci, UUID: d.UUID, Milli: placement.MilliPerCard, MemoryMiB: d.MemoryMiB})
			}
		}
		if ok {
			out.whole = true
			out.shares = append(out.shares, whole...)
		}
	}
	slices.SortFunc(out.shares, func(a, b CardShare) int { return a.Container - b.Container })
	return len(out.shares) > 0
}
