package sim

import (
	"fmt"
	"math"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// CPUPods is who places the pods that ask for no GPU.
type CPUPods uint8

const (
	// CPUPodsPolicy places them with the replayed policy, which also learns
	// from them: the paper's protocol, and the shipped product for a pod
	// asking "0" (the webhook's gpuplane.io/placement brings it to the
	// extender).
	CPUPodsPolicy CPUPods = iota
	// CPUPodsKubeScheduler places them as the gpuplane-scheduler profile
	// does without the extender (a pod asking "0" without gpuplane.io/placement):
	// they reach no learner, and the profile disables the resource scores,
	// so every node the pod fits scores alike and kube-scheduler takes one
	// at random (seeded here).
	CPUPodsKubeScheduler
	// CPUPodsDefaultScheduler places them as kube-scheduler's default
	// profile does (default-scheduler, where a pod naming no scheduler
	// goes): NodeResourcesFit's LeastAllocated on CPU and memory plus
	// NodeResourcesBalancedAllocation, ties at random.
	CPUPodsDefaultScheduler
)

// cpuPodsNames are the names of the CPUPods values.
func cpuPodsNames() enumNames[CPUPods] {
	return enumNames[CPUPods]{"policy", "kube-scheduler", "default-scheduler"}
}

// ParseCPUPods reads "policy", "kube-scheduler" or "default-scheduler".
func ParseCPUPods(s string) (CPUPods, error) {
	if c, ok := cpuPodsNames().parse(s); ok {
		return c, nil
	}
	return 0, fmt.Errorf("%w: --cpu-pods %q, want policy (the paper's protocol and the shipped product), kube-scheduler (the gpuplane-scheduler profile without the extender) or default-scheduler (kube-scheduler's default profile)", ErrUsage, s)
}

func (c CPUPods) String() string { return cpuPodsNames().name(c) }

// kubeScore is kube-scheduler's default profile's score of node n for a pod asking
// only for r's CPU and memory: NodeResourcesFit with LeastAllocated (per
// resource (allocatable − requested) × 100 / allocatable, requested with
// the pod, averaged with weight 1 each, in integers) plus
// NodeResourcesBalancedAllocation ((1 − the standard deviation of the two
// requested fractions) × 100). Its other default plugins score such a pod
// alike on every node here (no taints, affinities, images or spread
// constraints). A resource the node does not track scores 0.
func kubeScore(n *placement.Node, r *placement.Request) int64 {
	least := func(alloc, used int64) int64 {
		if alloc <= 0 || used > alloc {
			return 0
		}
		return (alloc - used) * 100 / alloc
	}
	frac := func(alloc, used int64) float64 {
		if alloc <= 0 {
			return 0
		}
		return min(float64(used)/float64(alloc), 1)
	}
	cpu, mem := n.UsedCPUMilli+r.CPUMilli, n.UsedMemoryMiB+r.MemoryMiB
	fit := (least(n.CPUMilli, cpu) + least(n.MemoryMiB, mem)) / 2
	std := math.Abs(frac(n.CPUMilli, cpu)-frac(n.MemoryMiB, mem)) / 2
	return fit + int64((1-std)*100)
}

// pickKube chooses a node for r, a pod without GPU, as kube-scheduler
// does: among the nodes with its CPU and memory free (the sampled ones
// when sampling), the highest score of the profile (none, or kubeScore),
// ties at random.
func (p *picker) pickKube(r *placement.Request) (int, bool) {
	n := len(p.cluster)
	found, walked := 0, 0
	best, ties := -1, 0
	var bestScore int64
	for k := 0; k < n; k++ {
		i := k
		if p.sample > 0 {
			i = (p.start + k) % n
			walked++
		}
		if !p.kubeFits(i, r) {
			continue
		}
		found++
		var s int64 // the gpuplane-scheduler profile: alike everywhere
		if p.cpuPods == CPUPodsDefaultScheduler {
			s = kubeScore(&p.cluster[i], r)
		}
		switch {
		case best < 0 || s > bestScore:
			best, bestScore, ties = i, s, 1
		case s == bestScore:
			ties++
			if p.ties.intn(ties) == 0 {
				best = i
			}
		}
		if p.sample > 0 && found == p.sample {
			break
		}
	}
	if p.sample > 0 && n > 0 {
		p.start = (p.start + walked) % n
	}
	return best, best >= 0
}
