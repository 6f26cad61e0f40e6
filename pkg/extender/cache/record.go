package cache

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// CardShare is what a pod holds on one card, by device index.
type CardShare struct {
	// Container is the index of the container that holds it.
	Container int
	Index     int
	// UUID, when set, names the card instead of Index (HAMi's
	// annotations name cards by UUID).
	UUID      string
	Milli     int64
	MemoryMiB int64
}

// Holding is what a bind books for a pod on a node: Reserve's plan returns
// it, and the state holds it as assumed until the informer shows the pod
// bound.
type Holding struct {
	// WholeCards are device-plugin cards, of one of WholeTypes (any when
	// empty): the plugin picks the cards, so they are counted per node.
	WholeCards int
	WholeTypes []string
	// Shares are the vGPU cards written in the pod's assignment.
	Shares []CardShare
	// Units are the units of the node's pools the pod takes (MIG
	// instances, time-slicing replicas), by pool name.
	Units []UnitHold
	// CPUMilli and MemoryMiB are the pod's host resources.
	CPUMilli  int64
	MemoryMiB int64
	// Priority is the pod's, for choosing victims of preemption.
	Priority int32
}

// podRecord is what one pod holds on its node: bound pods as the informer
// shows them, and pods the extender bound that the informer has not shown
// yet (assumed until their TTL).
type podRecord struct {
	uid types.UID
	key string // namespace/name, for /state and logs
	// priority is the pod's, for choosing victims of preemption.
	priority int32
	// assumed records come from bind; expires is when they are dropped if
	// the informer never confirms them.
	assumed bool
	expires time.Time
	// whole device-plugin cards, of one of wholeTypes (any when empty): the
	// plugin picks the cards, so they are counted per node, not per card.
	whole      int
	wholeTypes []string
	// shares are the vGPU cards written in the pod's assignment.
	shares []CardShare
	// units are the units of the node's pools the pod holds.
	units []UnitHold
	// floating are vGPU requests of a bound pod with no usable assignment
	// (bound by someone else): booked on the first cards that hold them so
	// that the capacity is not promised twice.
	floating []placement.Request
	cpuMilli int64
	memMiB   int64
	// problem says why the record is approximate (unreadable request or
	// assignment); shown in /state.
	problem string
}

// ref names the pod in logs.
func (r *podRecord) ref() klog.ObjectRef {
	ns, name, _ := strings.Cut(r.key, "/")
	return klog.KRef(ns, name)
}

func (r *podRecord) expired(now time.Time) bool { return r.assumed && now.After(r.expires) }

// sameAllocation tells whether two records book the same things, so that a
// pod update that changes nothing for the cards (status, labels) costs no
// rebuild.
func (r *podRecord) sameAllocation(o *podRecord) bool {
	return r.assumed == o.assumed && r.whole == o.whole && r.cpuMilli == o.cpuMilli && r.memMiB == o.memMiB &&
		slices.Equal(r.wholeTypes, o.wholeTypes) && slices.Equal(r.shares, o.shares) && slices.Equal(r.units, o.units) &&
		slices.EqualFunc(r.floating, o.floating, func(a, b placement.Request) bool {
			return a.Cards == b.Cards && a.Milli == b.Milli && a.CardMemoryMiB == b.CardMemoryMiB && slices.Equal(a.Types, b.Types)
		}) && r.problem == o.problem
}

// recordOf is what a bound pod holds on its node: its device-plugin cards,
// its vGPU cards from its assignment annotation, and its host resources.
// A pod whose request cannot be read still holds its host resources.
func recordOf(pod *corev1.Pod, v *request.Vocabulary) *podRecord {
	req, err := request.Of(pod, v)
	return recordFrom(pod, pod.Namespace+"/"+pod.Name, req, err)
}

// recordFrom is recordOf for a pod already translated (req, or err when its
// request cannot be read); key is the pod's namespace/name.
func recordFrom(pod *corev1.Pod, key string, req request.Pod, err error) *podRecord {
	rec := &podRecord{uid: pod.UID, key: key, priority: corev1helpers.PodPriority(pod)}
	if err != nil {
		rec.cpuMilli, rec.memMiB = request.Host(pod)
		rec.problem = err.Error()
		return rec
	}
	rec.cpuMilli, rec.memMiB = req.Parts[0].Req.CPUMilli, req.Parts[0].Req.MemoryMiB
	var assigned map[int]api.ContainerAssignment
	if req.VGPU() && !req.HAMi() {
		assigned = assignmentOf(pod, rec)
	}
	var fromHAMi hamiHeld
	if rec.hamiAllocation(pod, &req, &fromHAMi) {
		rec.shares = fromHAMi.shares
	}
	for _, p := range req.Parts {
		switch {
		case p.Req.Cards == 0:
		case p.Req.IsUnits():
			rec.units = addUnits(rec.units, p.Req.Unit, int64(p.Req.Cards))
		case !p.Req.UsesVGPU() && fromHAMi.whole:
			// a HAMi node's whole cards, booked on the cards HAMi's
			// annotation names
		case !p.Req.UsesVGPU():
			rec.whole, rec.wholeTypes = p.Req.Cards, p.Req.Types
		case p.Req.Sharing == placement.SharingHAMi:
			if !fromHAMi.parts[p.Container] {
				r := p.Req
				r.CPUMilli, r.MemoryMiB = 0, 0
				rec.floating = append(rec.floating, r)
			}
		default:
			ca, ok := assigned[p.Container]
			if ok && len(ca.Cards) != p.Req.Cards {
				rec.problem = fmt.Sprintf("%s gives container %d %d cards but it asks for %d: booked on the first cards that hold it",
					api.AnnotationAssigned, p.Container, len(ca.Cards), p.Req.Cards)
				ok = false
			}
			if !ok {
				r := p.Req
				r.CPUMilli, r.MemoryMiB = 0, 0
				rec.floating = append(rec.floating, r)
				continue
			}
			for _, c := range ca.Cards {
				// The annotation names the cards; the amounts are at least
				// what the pod's resources ask, since anyone who may edit
				// the pod may edit the annotation but not its resources.
				sh := CardShare{
					Container: p.Container, Index: c.Index,
					Milli:     max(int64(c.Cores)*placement.MilliPerCard/api.CoresPerCard, p.Req.Milli),
					MemoryMiB: c.MemoryMiB,
				}
				if p.Req.IsShare() {
					sh.MemoryMiB = max(sh.MemoryMiB, p.Req.CardMemoryMiB)
				}
				rec.shares = append(rec.shares, sh)
			}
		}
	}
	return rec
}

// assignmentOf returns the pod's assignment by container index when it is
// readable and names the node the pod is bound to; otherwise nil, with the
// reason noted on rec.
func assignmentOf(pod *corev1.Pod, rec *podRecord) map[int]api.ContainerAssignment {
	raw, ok := pod.Annotations[api.AnnotationAssigned]
	if !ok {
		rec.problem = "vGPU pod without " + api.AnnotationAssigned + ": booked on the first cards that hold it"
		return nil
	}
	a, err := api.DecodeAssignment(raw)
	if err != nil {
		rec.problem = err.Error() + ": booked on the first cards that hold it"
		return nil
	}
	if a.Node != pod.Spec.NodeName {
		rec.problem = api.AnnotationAssigned + " names node " + a.Node + " but the pod is bound to " +
			pod.Spec.NodeName + ": booked on the first cards that hold it"
		return nil
	}
	out := make(map[int]api.ContainerAssignment, len(a.Containers))
	for _, c := range a.Containers {
		out[c.Index] = c
	}
	return out
}

// terminated tells whether a pod's containers are done, so it holds nothing.
func terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
