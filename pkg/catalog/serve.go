package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// implicitPool reports whether the catalog has only the implicit pool: one
// pool, default, sharing through gpu-manager with device plugins, of any
// type. Requests then resolve as before pools existed, with no pool label.
func (c *Catalog) implicitPool() bool {
	if len(c.Pools) != 1 {
		return false
	}
	p := &c.Pools[0]
	return p.Name == DefaultPool && p.Sharing == SharingGPUManager && p.Allocation == AllocationDevicePlugin && len(p.Types) == 0
}

// serve fills res for a share, virtual cards or a MIG instance from the
// first pool that serves it (see Resolved.Pool). When none does, the error
// is the refusal of the first pool that has the types but whose backend
// cannot keep the request, or else says which pools there are.
func (c *Catalog) serve(req gpuspec.Request, res *Resolved, types []int, vendor int) error {
	var first error
	for i := range c.Pools {
		p := &c.Pools[i]
		if p.Allocation != AllocationDevicePlugin || !p.hasTypes(c, types) {
			continue
		}
		try := *res
		err := c.serveFrom(p, req, &try, types, vendor)
		if err == nil {
			*res = try
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	return c.noPool(req, res, types)
}

// hasTypes reports whether the pool's nodes may carry every named type.
func (p *Pool) hasTypes(c *Catalog, types []int) bool {
	for _, t := range types {
		if !p.hasType(c.Types[t].Name) {
			return false
		}
	}
	return true
}

// noPool explains that no pool has the named types for this kind.
func (c *Catalog) noPool(req gpuspec.Request, res *Resolved, types []int) error {
	var pools []string
	for _, p := range c.Pools {
		if p.Allocation != AllocationDevicePlugin {
			continue
		}
		ts := "any type"
		if len(p.Types) > 0 {
			ts = strings.Join(p.Types, ", ")
		}
		pools = append(pools, fmt.Sprintf("%s (%s: %s)", p.Name, p.Sharing, ts))
	}
	what := "a share or virtual cards"
	if res.Kind == KindMIG {
		what = "a MIG instance"
	}
	named := ""
	if len(types) > 0 {
		var ns []string
		for _, t := range types {
			ns = append(ns, c.Types[t].Name)
		}
		named = " of " + strings.Join(ns, "|")
	}
	hint := "the pools: none with device plugins"
	if len(pools) > 0 {
		hint = "the pools, in order: " + strings.Join(pools, "; ")
	}
	return refuse(req, "", ErrSharing, fmt.Sprintf("no pool of the catalog serves %s%s", what, named), hint)
}

// serveFrom fills res as pool p's backend serves the request, or says why
// it cannot.
func (c *Catalog) serveFrom(p *Pool, req gpuspec.Request, res *Resolved, types []int, vendor int) error {
	res.Pool, res.Sharing = p.Name, p.Sharing
	var required []Requirement
	if p.Sharing == SharingGPUManager {
		required = append(required, Requirement{Key: c.Labels.VGPU, Operator: OperatorIn, Values: []string{"true"}})
	} else {
		required = append(required, Requirement{Key: SharingLabel, Operator: OperatorIn, Values: []string{string(p.Sharing)}})
	}
	if r, ok := c.poolRequirement(p); ok {
		required = append(required, r)
	}
	n := int64(res.Count)
	switch p.Sharing {
	case SharingGPUManager:
		if res.Kind == KindMIG {
			return c.notMIG(req, p)
		}
		g := c.VGPU
		res.Cores = g.CoresPerCard
		if res.Kind == KindShare {
			res.Cores = res.Hundredths * g.CoresPerCard / 100
		}
		if err := c.sizeMemory(req, res, c.cardOf(types, vendor, p), g.MemoryUnitMiB, vendor); err != nil {
			return err
		}
		res.Resources = []Amount{{Name: g.CoreResource, Value: n * int64(res.Cores)}}
		if res.MemoryMiB > 0 {
			res.Resources = append(res.Resources, Amount{Name: g.MemoryResource, Value: n * res.MemoryMiB / g.MemoryUnitMiB})
		}
	case SharingHAMi:
		if res.Kind == KindMIG {
			return c.notMIG(req, p)
		}
		h := p.HAMi
		res.Cores = 100
		if res.Kind == KindShare {
			res.Cores = res.Hundredths
		}
		if err := c.sizeMemory(req, res, c.cardOf(types, vendor, p), 1, vendor); err != nil {
			return err
		}
		res.Resources = []Amount{{Name: h.Resource, Value: n}}
		if res.MemoryMiB > 0 {
			res.Resources = append(res.Resources, Amount{Name: h.MemoryResource, Value: res.MemoryMiB})
		} else {
			// A whole virtual card without an amount: all of its memory.
			res.Resources = append(res.Resources, Amount{Name: h.MemoryPercentageResource, Value: 100})
		}
		res.Resources = append(res.Resources, Amount{Name: h.CoresResource, Value: int64(res.Cores)})
	case SharingMIG:
		r, err := c.serveMIG(p, req, res, types, vendor)
		if err != nil {
			return err
		}
		required = append(required, r...)
	case SharingTimeslice:
		switch {
		case res.Kind == KindMIG:
			return c.notMIG(req, p)
		case res.Kind == KindVGPU:
			return refuse(req, "", ErrSharing,
				fmt.Sprintf("pool %s shares cards by time-slicing, whose replicas are not whole virtual cards", p.Name),
				fmt.Sprintf("ask for a share such as %s, or for whole cards such as %s", withKind(req, 50, 0), withKind(req, 0, req.Count)))
		case req.MemoryBytes != 0:
			written := gpuspec.FormatMemory(req.MemoryBytes)
			noMem := req
			noMem.MemoryBytes = 0
			return refuse(req, written, ErrSharing,
				fmt.Sprintf("pool %s shares cards by time-slicing, which does not isolate memory: a memory amount of %s cannot be kept", p.Name, written),
				fmt.Sprintf("write %s for a time-sliced share without a memory limit (each pod may use all of the card's memory), or ask a type of a pool that limits memory (hami, gpu-manager, mig)", noMem.String()))
		}
		res.Resources = []Amount{{Name: p.Timeslice.Resource, Value: 1}}
	default:
		return refuse(req, "", ErrSharing, fmt.Sprintf("pool %s has unknown sharing %q", p.Name, p.Sharing), "")
	}
	res.Required = required
	return nil
}

// notMIG refuses a MIG profile on a pool of another backend.
func (c *Catalog) notMIG(req gpuspec.Request, p *Pool) error {
	return refuse(req, gpuspec.MIGPrefix+req.MIG, ErrSharing,
		fmt.Sprintf("pool %s shares cards through %s, which has no MIG instances", p.Name, p.Sharing),
		"a MIG profile is served by a pool with sharing: mig")
}

// poolRequirement is the requirement that selects pool p's nodes; none
// when p is the catalog's only pool and is the default one (every node is
// in it).
func (c *Catalog) poolRequirement(p *Pool) (Requirement, bool) {
	if p.Name != DefaultPool {
		return Requirement{Key: PoolLabel, Operator: OperatorIn, Values: []string{p.Name}}, true
	}
	var others []string
	for _, q := range c.Pools {
		if q.Name != DefaultPool {
			others = append(others, q.Name)
		}
	}
	if len(others) == 0 {
		return Requirement{}, false
	}
	slices.Sort(others)
	// Nodes without the label are in the default pool: NotIn matches them.
	return Requirement{Key: PoolLabel, Operator: OperatorNotIn, Values: others}, true
}

// OperatorNotIn is the operator of the default pool's requirement.
const OperatorNotIn = "NotIn"

// serveMIG chooses the profile of a share or checks the one written, and
// returns the requirements beyond the pool's.
func (c *Catalog) serveMIG(p *Pool, req gpuspec.Request, res *Resolved, types []int, vendor int) ([]Requirement, error) {
	if res.Kind == KindVGPU {
		return nil, refuse(req, "", ErrSharing,
			fmt.Sprintf("pool %s shares cards through MIG, whose instances are not whole virtual cards", p.Name),
			fmt.Sprintf("ask for a share such as %s, which is given the smallest instance holding it, or for whole cards such as %s",
				withKind(req, 50, 0), withKind(req, 0, req.Count)))
	}
	// The candidate types: those named, or else the pool's (a mig pool
	// lists its types).
	cands := make([]*Type, 0, max(len(types), len(p.Types)))
	for _, t := range types {
		cands = append(cands, &c.Types[t])
	}
	if len(types) == 0 {
		for _, name := range p.Types {
			t, _ := c.Type(name)
			cands = append(cands, t)
		}
	}
	var chosen []MIGProfile
	if res.Kind == KindMIG {
		var offering []*Type
		for _, t := range cands {
			if prof, ok := t.MIGProfile(req.MIG); ok {
				offering = append(offering, t)
				chosen = append(chosen, prof)
			} else if len(types) > 0 {
				return nil, c.profileNotOffered(req, t)
			}
		}
		if len(offering) == 0 {
			return nil, c.profileNotOffered(req, nil)
		}
		cands = offering
	} else {
		for _, t := range cands {
			if t.MIG.Slices == 0 {
				return nil, refuse(req, "", ErrSharing, fmt.Sprintf("pool %s shares cards through MIG, and type %s has no MIG profiles in the catalog", p.Name, t.Name), "")
			}
			mem := req.MemoryBytes / gpuspec.MiB
			if mem == 0 {
				mem = int64(res.Hundredths) * t.MemoryMiB / 100
			}
			prof, ok := t.smallestMIG(res.Hundredths, mem)
			if !ok {
				return nil, refuse(req, "", ErrSharing,
					fmt.Sprintf("no MIG profile of %s holds %s of its compute and %s of memory", t.Name,
						gpuspec.FormatHundredths(res.Hundredths), gpuspec.FormatMemory(mem*gpuspec.MiB)),
					fmt.Sprintf("%s profiles: %s; ask for less memory, or for a whole card", t.Name, strings.Join(t.MIGProfileNames(), ", ")))
			}
			chosen = append(chosen, prof)
		}
	}
	prof := chosen[0]
	res.MIGProfile, res.MemoryMiB, res.Cores = prof.Name, prof.MemoryMiB, 0
	res.MemoryGiven = req.MemoryBytes != 0
	if res.MemoryGiven {
		res.MemoryMiB = req.MemoryBytes / gpuspec.MiB
	}
	if p.MIG.Strategy == MIGSingle {
		// Each node is partitioned in one profile: any profile at least as
		// large as the one chosen for its type will do.
		var hold []string
		for i, t := range cands {
			for _, name := range t.holdingMIG(chosen[i]) {
				if !slices.Contains(hold, name) {
					hold = append(hold, name)
				}
			}
		}
		res.Resources = []Amount{{Name: MIGSingleResource, Value: 1}}
		return []Requirement{{Key: MIGProfileLabel, Operator: OperatorIn, Values: hold}}, nil
	}
	for i := range chosen {
		if chosen[i].Name != prof.Name {
			var each []string
			for j, t := range cands {
				each = append(each, t.Name+": "+chosen[j].Resource())
			}
			return nil, refuse(req, "", ErrSharing,
				fmt.Sprintf("pool %s shares cards through MIG (mixed strategy), and the types would need different profiles (%s)", p.Name, strings.Join(each, ", ")),
				"name one type, as in "+withNames(req, req.Scope, cands[0].Name))
		}
	}
	res.Resources = []Amount{{Name: MIGResourcePrefix + prof.Resource(), Value: 1}}
	return nil, nil
}

// profileNotOffered refuses a MIG profile that type t (or, nil, any type)
// does not offer.
func (c *Catalog) profileNotOffered(req gpuspec.Request, t *Type) error {
	part := gpuspec.MIGPrefix + req.MIG
	if t != nil {
		return refuse(req, part, ErrMIGProfile, fmt.Sprintf("%s offers no MIG profile %s", t.Name, req.MIG),
			fmt.Sprintf("%s profiles: %s", t.Name, cmpList(t.MIGProfileNames())))
	}
	return refuse(req, part, ErrMIGProfile, fmt.Sprintf("no type of this mig pool offers MIG profile %s", req.MIG),
		fmt.Sprintf("types offering it: %s", cmpList(c.migTypes(req.MIG))))
}

// checkProfile refuses a MIG profile that no type of the catalog offers, or
// that a named type does not.
func (c *Catalog) checkProfile(req gpuspec.Request, types []int) error {
	for _, t := range types {
		if _, ok := c.Types[t].MIGProfile(req.MIG); !ok {
			return c.profileNotOffered(req, &c.Types[t])
		}
	}
	if c.offered(req.MIG) {
		return nil
	}
	hint := "no type of the catalog has MIG profiles"
	if ex := c.anyMIGType(); ex != nil {
		hint = fmt.Sprintf("profiles are written as the device plugin's resource, e.g. for %s: %s", ex.Name, strings.Join(ex.MIGProfileNames(), ", "))
	}
	return refuse(req, gpuspec.MIGPrefix+req.MIG, ErrMIGProfile, fmt.Sprintf("unknown MIG profile %s: no type of the catalog offers it", req.MIG), hint)
}

// offered reports whether a type of the catalog offers the profile.
func (c *Catalog) offered(profile string) bool {
	want, err := ParseMIGProfile(profile)
	if err != nil {
		return false
	}
	for i := range c.Types {
		if _, ok := c.Types[i].migProfileNamed(want.Name); ok {
			return true
		}
	}
	return false
}

// anyMIGType returns the first type with MIG profiles, for examples.
func (c *Catalog) anyMIGType() *Type {
	for i := range c.Types {
		if len(c.Types[i].MIG.Profiles) > 0 {
			return &c.Types[i]
		}
	}
	return nil
}

func cmpList(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// withKind writes req as a share of hundredths or count whole cards, for
// hints.
func withKind(req gpuspec.Request, hundredths, count int) string {
	req.Hundredths, req.Count, req.VGPU, req.MemoryBytes, req.MIG = hundredths, count, false, 0, ""
	if count == 0 && hundredths == 0 {
		req.Count = 1
	}
	return req.String()
}

// finish adds what every kind but KindNone gets after its backend's
// requirements: the types' requirement and preferences, and the vendor's
// tolerations.
func (c *Catalog) finish(res *Resolved, names []string, vendor int) {
	switch {
	case len(names) > 0:
		res.Required = append(res.Required, Requirement{Key: c.Labels.GPUType, Operator: OperatorIn, Values: slices.Clone(names)})
	default:
		if p, ok := c.poolNamed(res.Pool); ok && len(p.Types) > 0 && res.Kind != KindMIG {
			res.Required = append(res.Required, Requirement{Key: c.Labels.GPUType, Operator: OperatorIn, Values: slices.Clone(p.Types)})
		}
	}
	if len(names) >= 2 {
		res.Preferred = preferences(c.Labels.GPUType, names)
	}
	res.Tolerations = slices.Clone(c.idx.vendorTols[vendor])
	if len(res.Tolerations) == 0 {
		res.Tolerations = nil
	}
}
