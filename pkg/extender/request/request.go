package request

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// ErrPodRequest marks a pod whose GPU resources cannot be served as written,
// on any node: the scheduler is told so for every node, since preemption
// would not help.
var ErrPodRequest = errors.New("unusable GPU request")

// WholeContainer is Part.Container for the device-plugin part, which
// is the pod's and not one container's.
const WholeContainer = -1

// Part is one placement request of a pod: all its device-plugin cards
// together (container WholeContainer), or one container's vGPU request,
// since gpu-manager is told the cards of each container apart.
type Part struct {
	// Container is the container's index; WholeContainer for the
	// device-plugin part.
	Container int
	// Name is the container's name; empty for the device-plugin part.
	Name string
	Req  placement.Request
	// HAMiCores and HAMiMemoryMiB are what a HAMi part's container asks
	// (nvidia.com/gpucores, nvidia.com/gpumem; 0 when not written): what
	// bind writes for HAMi-core to enforce.
	HAMiCores     int
	HAMiMemoryMiB int64
}

// Pod is what a pod asks of a node, in placement's terms. The first
// part also carries the pod's host CPU and memory; a pod without GPUs has a
// single part with no cards.
type Pod struct {
	Parts []Part
	// WholeResource is the device-plugin resource of the whole-card part
	// (which vendor's cards); empty without one.
	WholeResource corev1.ResourceName
	// WholeCounts are the whole cards of each container, by container
	// index (nil without a whole-card part): on a HAMi node bind tells
	// HAMi's device plugin the cards of each container.
	WholeCounts []int
}

// GPU tells whether the pod asks for any card.
func (p *Pod) GPU() bool {
	for i := range p.Parts {
		if p.Parts[i].Req.Cards > 0 {
			return true
		}
	}
	return false
}

// VGPU tells whether any part goes through the vGPU manager, so that bind
// has cards to choose and write on the pod.
func (p *Pod) VGPU() bool {
	for i := range p.Parts {
		if p.Parts[i].Req.UsesVGPU() {
			return true
		}
	}
	return false
}

// HAMi tells whether any part is a HAMi share or HAMi's virtual cards.
func (p *Pod) HAMi() bool {
	for i := range p.Parts {
		if r := &p.Parts[i].Req; r.UsesVGPU() && r.Sharing == placement.SharingHAMi {
			return true
		}
	}
	return false
}

// String writes the request as users write it, one part after the other.
func (p *Pod) String() string {
	s := ""
	for i := range p.Parts {
		if i > 0 {
			s += "+"
		}
		s += p.Parts[i].Req.String()
	}
	return s
}

// Of derives a pod's placement request from its container resources
// and its gpu-type node affinity; it does not need the webhook's annotations,
// so pods written by hand are served alike.
func Of(pod *corev1.Pod, v *Vocabulary) (Pod, error) {
	var out Pod
	types := requiredTypes(pod, v.LabelGPUType)
	for i, t := range types {
		types[i] = v.InternType(t)
	}
	whole := placement.Request{Milli: placement.MilliPerCard, Types: types}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if part, ok, err := sharingPart(c, v); err != nil {
			return Pod{}, fmt.Errorf("%w: container %q: %w", ErrPodRequest, c.Name, err)
		} else if ok {
			part.Container, part.Name = i, c.Name
			part.Req.Types = types
			out.Parts = append(out.Parts, part)
			continue
		}
		res, n, err := wholeCards(c, v)
		if err != nil {
			return Pod{}, fmt.Errorf("%w: container %q: %w", ErrPodRequest, c.Name, err)
		}
		cores, mem := quantity(c, v.CoreResource), quantity(c, v.MemoryResource)
		if n > 0 && (cores > 0 || mem > 0) {
			return Pod{}, fmt.Errorf("%w: container %q asks for both %s and %s; a container gets whole cards or vGPU, not both",
				ErrPodRequest, c.Name, res, v.CoreResource)
		}
		if n > 0 {
			if out.WholeResource != "" && out.WholeResource != res {
				return Pod{}, fmt.Errorf("%w: the pod asks for both %s and %s; one pod takes the cards of one vendor",
					ErrPodRequest, out.WholeResource, res)
			}
			out.WholeResource = res
			whole.Cards += int(n)
			if out.WholeCounts == nil {
				out.WholeCounts = make([]int, len(pod.Spec.Containers))
			}
			out.WholeCounts[i] = int(n)
			continue
		}
		if cores == 0 && mem == 0 {
			continue
		}
		r, err := vgpuRequest(cores, mem, v)
		if err != nil {
			return Pod{}, fmt.Errorf("%w: container %q: %w", ErrPodRequest, c.Name, err)
		}
		r.Types = types
		out.Parts = append(out.Parts, Part{Container: i, Name: c.Name, Req: r})
	}
	if whole.Cards > 0 {
		out.Parts = slices.Insert(out.Parts, 0, Part{Container: WholeContainer, Req: whole})
	}
	if len(out.Parts) == 0 {
		out.Parts = []Part{{Container: WholeContainer}}
	}
	out.Parts[0].Req.CPUMilli, out.Parts[0].Req.MemoryMiB = Host(pod)
	for i := range out.Parts {
		if err := out.Parts[i].Req.Validate(); err != nil {
			return Pod{}, fmt.Errorf("%w: %w", ErrPodRequest, err)
		}
	}
	return out, nil
}

// wholeCards returns the device-plugin resource the container asks for and
// how many cards.
func wholeCards(c *corev1.Container, v *Vocabulary) (corev1.ResourceName, int64, error) {
	var name corev1.ResourceName
	var n int64
	for _, r := range v.WholeResources {
		k := quantity(c, r)
		if k == 0 {
			continue
		}
		if n > 0 {
			return "", 0, fmt.Errorf("asks for both %s and %s; a container takes the cards of one vendor", name, r)
		}
		if k < 0 || k > placement.MaxRequestCards {
			return "", 0, fmt.Errorf("%s: %d, want 1..%d cards", r, k, placement.MaxRequestCards)
		}
		name, n = r, k
	}
	return name, n, nil
}

// vgpuRequest turns a container's vGPU cores and memory units into a share
// (cores below one card) or virtual whole cards (a multiple of one card).
func vgpuRequest(cores, memUnits int64, v *Vocabulary) (placement.Request, error) {
	per := v.CoresPerCard
	switch {
	case cores <= 0:
		return placement.Request{}, fmt.Errorf("%s %d without %s; a vGPU request needs cores (1..%d for a share, a multiple of %d for whole cards)",
			v.MemoryResource, memUnits, v.CoreResource, per-1, per)
	case memUnits < 0:
		return placement.Request{}, fmt.Errorf("%s %d is negative", v.MemoryResource, memUnits)
	case cores < per:
		return placement.Share(cores*placement.MilliPerCard/per, memUnits*v.MemoryUnitMiB), nil
	case cores%per == 0 && cores/per <= placement.MaxRequestCards:
		// Whole virtual cards take all of their memory; the memory units
		// the webhook writes for them add nothing to check.
		return placement.Request{Cards: int(cores / per), Milli: placement.MilliPerCard, VGPU: true}, nil
	}
	return placement.Request{}, fmt.Errorf("%s %d: above one card (%d) the cores must be a multiple of %d, at most %d cards",
		v.CoreResource, cores, per, per, placement.MaxRequestCards)
}

// quantity is the container's amount of an extended resource: its limit, or
// its request when no limit is written (the two must be equal for extended
// resources).
func quantity(c *corev1.Container, r corev1.ResourceName) int64 {
	if q, ok := c.Resources.Limits[r]; ok {
		return q.Value()
	}
	if q, ok := c.Resources.Requests[r]; ok {
		return q.Value()
	}
	return 0
}

// requiredTypes returns the card types the pod may land on: the values of
// required "gpu-type In (...)" node affinity (the union over the terms, which
// are ORed; nothing when a term leaves the type open) narrowed by a
// nodeSelector on the same label. The order is the written one, which is
// the user's preference.
func requiredTypes(pod *corev1.Pod, label string) []string {
	var fromSelector []string
	if t, ok := pod.Spec.NodeSelector[label]; ok {
		fromSelector = []string{t}
	}
	fromAffinity := affinityTypes(pod.Spec.Affinity, label)
	switch {
	case fromSelector == nil:
		return fromAffinity
	case fromAffinity == nil || slices.Contains(fromAffinity, fromSelector[0]):
		return fromSelector
	}
	// Contradictory: no node can satisfy both, kube-scheduler filters them
	// all; an impossible type keeps the extender from promising otherwise.
	return []string{fromSelector[0] + " and " + fromAffinity[0]}
}

func affinityTypes(a *corev1.Affinity, label string) []string {
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var union []string
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		var inTerm []string
		constrained := false
		for _, e := range term.MatchExpressions {
			if e.Key != label || e.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			if !constrained {
				inTerm, constrained = slices.Clone(e.Values), true
				continue
			}
			inTerm = slices.DeleteFunc(inTerm, func(t string) bool { return !slices.Contains(e.Values, t) })
		}
		if !constrained {
			return nil
		}
		for _, t := range inTerm {
			if !slices.Contains(union, t) {
				union = append(union, t)
			}
		}
	}
	return union
}

// Host is the pod's CPU (milli) and memory (MiB, rounded up) as
// kube-scheduler counts them, with the function it counts them with:
// pod-level requests where the pod sets them, regular init containers and
// sidecars, the larger of the spec and what a resize in place has
// allocated, and the pod overhead.
func Host(pod *corev1.Pod) (cpuMilli, memMiB int64) {
	r := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{UseStatusResources: true})
	return r.Cpu().MilliValue(), (r.Memory().Value() + mib - 1) / mib
}

const mib = 1 << 20
