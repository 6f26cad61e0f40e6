package request

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// sharingPart reads a container's request of another sharing backend than
// gpu-manager: HAMi's cores and memory, MIG instances of one profile, or
// time-slicing replicas. ok is false when the container asks for none.
func sharingPart(c *corev1.Container, v *Vocabulary) (Part, bool, error) {
	unit, n, err := unitsAsked(c, v)
	if err != nil {
		return Part{}, false, err
	}
	cores, mem, pct := quantity(c, v.HAMiCoreResource), quantity(c, v.HAMiMemoryResource), quantity(c, v.HAMiMemoryPercent)
	hami := cores > 0 || mem > 0 || pct > 0
	switch {
	case unit != "" && hami:
		return Part{}, false, fmt.Errorf("asks for both %s and HAMi's %s/%s; a container takes one backend's resources", unit, v.HAMiCoreResource, v.HAMiMemoryResource)
	case unit != "":
		s := placement.SharingMIG
		if corev1.ResourceName(unit) == v.TimesliceResource {
			s = placement.SharingTimeslice
		}
		return Part{Req: placement.UnitsOf(int(n), unitName(unit), s)}, true, nil
	case hami:
		r, err := hamiRequest(quantity(c, wholeOf(v)), cores, mem, pct, v)
		return Part{Req: r, HAMiCores: int(cores), HAMiMemoryMiB: mem}, err == nil, err
	}
	return Part{}, false, nil
}

// wholeOf is the resource HAMi counts cards in.
func wholeOf(v *Vocabulary) corev1.ResourceName {
	if v.HAMiResource == "" {
		return catalog.HAMiResource
	}
	return v.HAMiResource
}

// unitName is a units resource without its vendor prefix: the pool's name
// (placement.Units).
func unitName(resource string) string {
	_, name, ok := strings.Cut(resource, "/")
	if !ok {
		return resource
	}
	return name
}

// unitsAsked returns the one units resource (a MIG profile or time-slice
// replicas) the container asks for, and how many.
func unitsAsked(c *corev1.Container, v *Vocabulary) (string, int64, error) {
	var name string
	var n int64
	seen := map[corev1.ResourceName]bool{}
	for _, list := range []corev1.ResourceList{c.Resources.Limits, c.Resources.Requests} {
		for r := range list {
			if seen[r] || !(strings.HasPrefix(string(r), v.MIGResourcePrefix) || r == v.TimesliceResource) {
				continue
			}
			seen[r] = true
			k := quantity(c, r)
			if k == 0 {
				continue
			}
			if name != "" {
				return "", 0, fmt.Errorf("asks for both %s and %s; a container takes units of one kind", name, r)
			}
			if k < 0 || k > placement.MaxRequestCards {
				return "", 0, fmt.Errorf("%s: %d, want 1..%d", r, k, placement.MaxRequestCards)
			}
			name, n = string(r), k
		}
	}
	return name, n, nil
}

// hamiRequest is a container's HAMi request: n cards (nvidia.com/gpu), cores
// percent of each (nvidia.com/gpucores, 0 = no limit), mem MiB of each
// (nvidia.com/gpumem) or pct percent of its memory.
func hamiRequest(n, cores, mem, pct int64, v *Vocabulary) (placement.Request, error) {
	switch {
	case n <= 0:
		return placement.Request{}, fmt.Errorf("%s or %s without %s; HAMi counts cards in %s", v.HAMiCoreResource, v.HAMiMemoryResource, wholeOf(v), wholeOf(v))
	case n > placement.MaxRequestCards:
		return placement.Request{}, fmt.Errorf("%s: %d, want 1..%d cards", wholeOf(v), n, placement.MaxRequestCards)
	case cores < 0 || cores > 100:
		return placement.Request{}, fmt.Errorf("%s %d, want 0..100 (percent of a card)", v.HAMiCoreResource, cores)
	case pct < 0 || pct > 100:
		return placement.Request{}, fmt.Errorf("%s %d, want 0..100 (percent of a card's memory)", v.HAMiMemoryPercent, pct)
	case mem < 0:
		return placement.Request{}, fmt.Errorf("%s %d is negative", v.HAMiMemoryResource, mem)
	case cores == 100:
		// HAMi gives a container asking for all of a card's cores the card
		// alone: whole virtual cards.
		return placement.Request{Cards: int(n), Milli: placement.MilliPerCard, VGPU: true, Sharing: placement.SharingHAMi}, nil
	case n > 1:
		return placement.Request{}, fmt.Errorf("%d cards with %d%% of the cores of each: gpuplane places a HAMi share on one card; ask for one card, or for whole cards with %s 100",
			n, cores, v.HAMiCoreResource)
	case pct > 0 && mem == 0:
		return placement.Request{}, fmt.Errorf("a HAMi share's memory in %s is not served by gpuplane's extender (its MiB depend on the card): write it in MiB as %s",
			v.HAMiMemoryPercent, v.HAMiMemoryResource)
	case mem == 0:
		return placement.Request{}, fmt.Errorf("a HAMi share without %s takes all of its card's memory (HAMi's default): write the card memory it needs in MiB as %s",
			v.HAMiMemoryResource, v.HAMiMemoryResource)
	}
	// Cores 0 is no compute limit: the share still takes a task slot and
	// its memory, and counts as the least a share can (1 milli).
	r := placement.Share(max(cores*placement.MilliPerCard/100, 1), mem)
	r.Sharing = placement.SharingHAMi
	return r, nil
}
