package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// Kind is what a resolved request asks for.
type Kind int

const (
	// KindNone is "0": no GPU, and the container is told to see none.
	KindNone Kind = iota
	// KindWhole is whole cards of a vendor's extended resource.
	KindWhole
	// KindVGPU is whole virtual cards from the vGPU pool: each a card's
	// worth of vGPU cores.
	KindVGPU
	// KindShare is a fraction of one card through vGPU.
	KindShare
	// KindMIG is one MIG instance of a profile written in the request.
	KindMIG
)

func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindWhole:
		return "whole"
	case KindVGPU:
		return "vgpu"
	case KindShare:
		return "share"
	case KindMIG:
		return "mig"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Resolved is a request translated into what a pod needs: resources, node
// affinity, tolerations and environment. The webhook writes it onto pods;
// explain prints it.
//
// Its slices may share one allocation; treat them as read-only (appending
// is safe, it copies).
type Resolved struct {
	Kind Kind
	// Count is cards for KindWhole and KindVGPU, 1 for KindShare, 0 for
	// KindNone.
	Count int
	// Hundredths is the share for KindShare (50 for 0.5); 0 otherwise.
	Hundredths int
	// Cores is vGPU cores per card: CoresPerCard for KindVGPU,
	// Hundredths*CoresPerCard/100 for KindShare; 0 otherwise.
	Cores int
	// MemoryMiB is vGPU memory per card, a whole number of the catalog's
	// memory unit, for KindShare and for KindVGPU when the request gives
	// it; 0 otherwise.
	//
	// A whole virtual card (KindVGPU) is the whole card, its memory
	// included: unless the request writes an amount, no memory resource is
	// asked, and the scheduler extender books all of the memory of the card
	// it picks (it is not known at admission) and writes it in the pod's
	// assignment.
	//
	// A share without an amount gets the share of the memory of the
	// smallest named type, or with no type named, of the smallest type of
	// the default vendor, so that it fits whatever card the pod lands on. It
	// is rounded down to the unit (shares of one card then fit on the card
	// together, as their cores do), and is at least one unit.
	MemoryMiB int64
	// MemoryGiven is set when the request wrote the memory amount.
	MemoryGiven bool
	// Pool is the name of the pool that serves a share, virtual cards or a
	// MIG instance: the first pool of the catalog, in order, whose sharing
	// backend can keep the request and whose types include the named
	// ones. Empty for whole cards and KindNone.
	Pool string
	// Sharing is that pool's backend; empty when Pool is.
	Sharing Sharing
	// MIGProfile is NVIDIA's name of the MIG profile that holds the
	// request: the one written (KindMIG) or, for a share on a mig pool, the
	// smallest that holds its compute and memory. Empty otherwise.
	MIGProfile string
	// Vendor is the vendor of the cards; nil for KindNone.
	Vendor *Vendor
	// Types are canonical type names in preference order; empty means any
	// type of Vendor.
	Types []string
	// Resources are the container's limits (and equal requests), in this
	// order: KindWhole: the vendor's resource, Count. KindVGPU and
	// KindShare by backend (docs/sharing.md):
	//   - gpu-manager: the core resource, Count*Cores; then, when
	//     MemoryMiB is not 0, the memory resource,
	//     Count*MemoryMiB/MemoryUnitMiB.
	//   - hami: HAMi's card resource, Count; its memory resource,
	//     MemoryMiB per card (its memory-percentage resource, 100, for a
	//     virtual card without a memory amount); its cores resource, Cores
	//     per card in percent.
	//   - mig: nvidia.com/mig-<profile> 1 (mixed strategy) or
	//     nvidia.com/gpu 1 (single).
	//   - timeslice: the replica resource (nvidia.com/gpu.shared), 1.
	Resources []Amount
	// Required are node-selector requirements, all of which must hold:
	// the vendor's node label In [true] for KindWhole (gpu for the default
	// vendor); for the other kinds vgpu In [true] (gpu-manager) or
	// gpuplane.io/sharing In [backend] (the others), then the pool's label
	// when the catalog has pools (gpuplane.io/pool In [pool], or NotIn the
	// other pools for the pool "default"), then gpuplane.io/mig.profile In
	// the profiles that hold the request (mig, single strategy); and
	// gpu-type In Types when types are named (or In the pool's types when
	// none are and the pool lists them).
	Required []Requirement
	// Preferred has one term per type when two or more are named: type i
	// of n weighs 100 - i*(100/n) (integer division, at least 1), so
	// weights fall in the written order from 100 (2 types: 100, 50; 3: 100,
	// 67, 34).
	Preferred []Preference
	// Tolerations are the vendor's (see Vendor.Tolerations), for every kind
	// but KindNone: a pod that wants no GPU has no business on a tainted GPU
	// node, and a pod of one vendor none on another vendor's.
	Tolerations []Toleration
	// Env is set for KindNone only: NVIDIA_VISIBLE_DEVICES=none, so that
	// the container sees no card even on a GPU node whose runtime would
	// otherwise expose them all.
	Env map[string]string
}

// Amount is a quantity of an extended resource.
type Amount struct {
	Name  string
	Value int64
}

// Requirement is a node-selector requirement, as plain strings.
type Requirement struct {
	Key      string
	Operator string
	Values   []string
}

// Preference is a weighted preferred node-selector term of one requirement.
type Preference struct {
	Weight      int32
	Requirement Requirement
}

// EnvVisibleDevices is the variable that tells the NVIDIA container
// runtime which cards a container sees.
const EnvVisibleDevices = "NVIDIA_VISIBLE_DEVICES"

// OperatorIn is the node-selector operator of every requirement here.
const OperatorIn = "In"

// inline is how many types a Resolved holds without a second allocation.
const inline = 2

// backing holds the slices of one Resolved in a single allocation for the
// usual sizes (up to two types, one toleration), kept under 512 bytes so
// that the allocator takes its fast path: Resolve runs on every admission.
type backing struct {
	types    [inline]string
	values   [inline]string
	amounts  [2]Amount
	required [2]Requirement
	trueVal  [1]string
	tols     [1]Toleration
}

// prefBacking holds the preferred terms, only needed for alternatives.
type prefBacking struct {
	prefs [inline]Preference
	vals  [inline][1]string
}

// ParseResolve parses and resolves a request as written; errors quote s.
func (c *Catalog) ParseResolve(s string) (Resolved, error) {
	req, err := gpuspec.Parse(s)
	if err != nil {
		return Resolved{}, err
	}
	res, err := c.Resolve(req)
	if e, ok := err.(*gpuspec.Error); ok {
		e.Input = s
		e.Offset, e.Part = locate(s, e.Part)
	}
	return res, err
}

// Resolve translates a parsed request (see Resolved). Errors are
// *gpuspec.Error quoting req.String(), with one of this package's
// sentinels (or gpuspec.ErrConflict for a type named twice through an
// alias); they list what the catalog knows.
func (c *Catalog) Resolve(req gpuspec.Request) (Resolved, error) {
	if err := req.Validate(); err != nil {
		return Resolved{}, err
	}
	if req.IsNone() {
		return Resolved{Kind: KindNone, Env: map[string]string{EnvVisibleDevices: "none"}}, nil
	}
	x := c.idx

	var typesBuf [8]int
	types := typesBuf[:0]
	vendor := -1
	if req.Scope != "" {
		v, ok := lookup(x.vendors, req.Scope)
		if !ok {
			return Resolved{}, c.scopeError(req)
		}
		vendor = v
	}
	for _, name := range req.Names {
		if t, ok := lookup(x.names, name); ok {
			tv := x.typeVendor[t]
			if vendor >= 0 && tv != vendor {
				return Resolved{}, c.vendorMismatch(req, name, t, vendor)
			}
			for _, prev := range types {
				if prev == t {
					return Resolved{}, refuse(req, name, gpuspec.ErrConflict,
						fmt.Sprintf("%q is %s, already named", name, c.Types[t].Name), "name each type once")
				}
			}
			vendor = tv
			types = append(types, t)
			continue
		}
		if v, ok := lookup(x.vendors, name); ok {
			if req.Scope != "" {
				return Resolved{}, refuse(req, name, ErrVendor, fmt.Sprintf("%q is a vendor, not a type", name),
					fmt.Sprintf("%s types: %s", c.Vendors[vendor].Name, c.typeList(vendor)))
			}
			if len(req.Names) > 1 {
				vn := c.Vendors[v].Name
				return Resolved{}, refuse(req, name, ErrVendor, fmt.Sprintf("%q is a vendor, not a type", name),
					fmt.Sprintf("write %s for any %s card, or name %s types: %s", withNames(req, "", vn), vn, vn, c.typeList(v)))
			}
			vendor = v
			continue
		}
		return Resolved{}, refuse(req, name, ErrUnknownName, fmt.Sprintf("unknown type %q", name),
			fmt.Sprintf("known types: %s; vendors: %s", strings.Join(x.typeNames, ", "), strings.Join(x.vendorNames, ", ")))
	}
	if vendor < 0 {
		vendor = x.def
	}
	vd := &c.Vendors[vendor]

	res := Resolved{Vendor: vd}
	switch {
	case req.MIG != "":
		res.Kind, res.Count = KindMIG, 1
	case req.Hundredths > 0:
		res.Kind, res.Count, res.Hundredths = KindShare, 1, req.Hundredths
	case req.VGPU:
		res.Kind, res.Count = KindVGPU, req.Count
	default:
		res.Kind, res.Count = KindWhole, req.Count
	}
	if res.Kind != KindWhole && !vd.Default {
		what := "vGPU (a share or VGPU cards)"
		if res.Kind == KindMIG {
			what = "MIG"
		}
		return Resolved{}, refuse(req, "", ErrNoVGPU,
			fmt.Sprintf("%s is offered for %s cards only, not %s", what, c.DefaultVendor().Name, vd.Name),
			fmt.Sprintf("ask for whole %s cards, such as %s", vd.Name, c.wholeExample(req, vd, types)))
	}

	if res.Kind == KindMIG {
		if err := c.checkProfile(req, types); err != nil {
			return Resolved{}, err
		}
	}

	b := new(backing)
	var names []string
	if len(types) <= inline {
		names = b.types[:len(types):len(types)]
	} else {
		names = make([]string, len(types))
	}
	for i, t := range types {
		names[i] = c.Types[t].Name
	}
	if len(types) > 0 {
		res.Types = names
	}

	b.trueVal[0] = "true"
	label := x.vendorLabel[vendor]
	if res.Kind == KindWhole {
		b.amounts[0] = Amount{Name: vd.Resource, Value: int64(res.Count)}
		res.Resources = b.amounts[:1:1]
	} else if !c.implicitPool() || res.Kind == KindMIG {
		// Pools other than the one implicit gpu-manager pool: the first
		// that serves the request decides its form.
		if err := c.serve(req, &res, types, vendor); err != nil {
			return Resolved{}, err
		}
		c.finish(&res, names, vendor)
		return res, nil
	} else {
		label = c.Labels.VGPU
		if err := c.sizeVGPU(req, &res, types, vendor); err != nil {
			return Resolved{}, err
		}
		res.Pool, res.Sharing = c.Pools[0].Name, SharingGPUManager
		n := int64(res.Count)
		b.amounts[0] = Amount{Name: c.VGPU.CoreResource, Value: n * int64(res.Cores)}
		res.Resources = b.amounts[:1:1]
		if res.MemoryMiB > 0 {
			b.amounts[1] = Amount{Name: c.VGPU.MemoryResource, Value: n * res.MemoryMiB / c.VGPU.MemoryUnitMiB}
			res.Resources = b.amounts[:2:2]
		}
	}
	b.required[0] = Requirement{Key: label, Operator: OperatorIn, Values: b.trueVal[:1:1]}
	res.Required = b.required[:1:1]
	if len(types) > 0 {
		values := b.values[:0:0]
		if len(names) <= inline {
			values = b.values[:len(names):len(names)]
			copy(values, names)
		} else {
			values = append(values, names...)
		}
		b.required[1] = Requirement{Key: c.Labels.GPUType, Operator: OperatorIn, Values: values}
		res.Required = b.required[:2:2]
	}
	if n := len(names); n >= 2 {
		res.Preferred = preferences(c.Labels.GPUType, names)
	}
	switch tols := x.vendorTols[vendor]; {
	case len(tols) == 0:
		res.Tolerations = nil
	case len(tols) <= len(b.tols):
		res.Tolerations = b.tols[:len(tols):len(tols)]
		copy(res.Tolerations, tols)
	default:
		res.Tolerations = slices.Clone(tols)
	}
	return res, nil
}

// preferences weighs the named types, falling in the written order from
// 100 (see Resolved.Preferred).
func preferences(key string, names []string) []Preference {
	n := len(names)
	var prefs []Preference
	var vals [][1]string
	if n <= inline {
		pb := new(prefBacking)
		prefs, vals = pb.prefs[:n:n], pb.vals[:n:n]
	} else {
		prefs, vals = make([]Preference, n), make([][1]string, n)
	}
	step := max(100/n, 1)
	for i, name := range names {
		vals[i][0] = name
		prefs[i] = Preference{
			Weight:      int32(max(100-i*step, 1)),
			Requirement: Requirement{Key: key, Operator: OperatorIn, Values: vals[i][:1:1]},
		}
	}
	return prefs
}

// sizeVGPU fills the cores and memory per card of a vGPU request.
func (c *Catalog) sizeVGPU(req gpuspec.Request, res *Resolved, types []int, vendor int) error {
	g := c.VGPU
	if res.Kind == KindShare {
		res.Cores = res.Hundredths * g.CoresPerCard / 100
	} else {
		res.Cores = g.CoresPerCard
	}
	return c.sizeMemory(req, res, c.cardOf(types, vendor, nil), g.MemoryUnitMiB, vendor)
}

// card is the card a share's memory must fit.
type card struct {
	mib  int64
	name string // "" when no type bounds it (the vendor's smallest)
}

// cardOf is the card the memory must fit: the smallest named type, so
// that the pod fits any of them; with none named, the smallest of the
// pool's types, or of the vendor's when the pool lists none (or p is nil).
func (c *Catalog) cardOf(types []int, vendor int, p *Pool) card {
	cd := card{mib: c.idx.minMiB[vendor]}
	for i, t := range types {
		if m := c.Types[t].MemoryMiB; i == 0 || m < cd.mib {
			cd = card{mib: m, name: c.Types[t].Name}
		}
	}
	if len(types) == 0 && p != nil && len(p.Types) > 0 {
		for i, name := range p.Types {
			t, _ := c.Type(name)
			if i == 0 || t.MemoryMiB < cd.mib {
				cd = card{mib: t.MemoryMiB, name: t.Name}
			}
		}
	}
	return cd
}

// sizeMemory fills the memory per card of a share or virtual cards, in
// units of unit MiB, for card cd: the amount written, checked, or else a
// share's proportion of the card rounded down to the unit (at least one).
func (c *Catalog) sizeMemory(req gpuspec.Request, res *Resolved, cd card, unit int64, vendor int) error {
	cardMiB, cardName := cd.mib, cd.name
	if req.MemoryBytes == 0 {
		if res.Kind == KindShare {
			mem := int64(res.Hundredths) * cardMiB / 100
			res.MemoryMiB = max(mem/unit, 1) * unit
		}
		// A whole virtual card is the whole card: the extender books all
		// of its memory (see Resolved.MemoryMiB).
		return nil
	}
	mem := req.MemoryBytes / gpuspec.MiB
	if mem%unit != 0 {
		written := gpuspec.FormatMemory(req.MemoryBytes)
		lo := mem / unit * unit
		hint := fmt.Sprintf("vGPU memory is counted in units of %s: write %s", gpuspec.FormatMemory(unit*gpuspec.MiB),
			gpuspec.FormatMemory((lo+unit)*gpuspec.MiB))
		if lo > 0 {
			hint = fmt.Sprintf("vGPU memory is counted in units of %s: write %s or %s", gpuspec.FormatMemory(unit*gpuspec.MiB),
				gpuspec.FormatMemory(lo*gpuspec.MiB), gpuspec.FormatMemory((lo+unit)*gpuspec.MiB))
		}
		return refuse(req, written, ErrMemory,
			fmt.Sprintf("memory %s is not a whole number of %s units", written, gpuspec.FormatMemory(unit*gpuspec.MiB)), hint)
	}
	if cardName != "" && mem > cardMiB {
		written := gpuspec.FormatMemory(req.MemoryBytes)
		without := "the share's proportion of the card"
		if res.Kind == KindVGPU {
			without = "all of the card's"
		}
		return refuse(req, written, ErrMemory,
			fmt.Sprintf("memory %s is more than a %s has (%s)", written, cardName, gpuspec.FormatMemory(cardMiB*gpuspec.MiB)),
			fmt.Sprintf("ask for at most %s, or leave the memory out for %s", gpuspec.FormatMemory(cardMiB*gpuspec.MiB), without))
	}
	if largest := c.idx.maxMiB[vendor]; mem > largest {
		written := gpuspec.FormatMemory(req.MemoryBytes)
		return refuse(req, written, ErrMemory,
			fmt.Sprintf("memory %s is more than any %s card has (the largest, %s)", written, c.Vendors[vendor].Name,
				gpuspec.FormatMemory(largest*gpuspec.MiB)),
			fmt.Sprintf("ask for at most %s", gpuspec.FormatMemory(largest*gpuspec.MiB)))
	}
	res.MemoryMiB = mem
	res.MemoryGiven = true
	return nil
}

// refuse builds a request error pointing at part in the request's
// canonical form.
func refuse(req gpuspec.Request, part string, class error, msg, hint string) error {
	in := req.String()
	off, p := locate(in, part)
	return &gpuspec.Error{Input: in, Offset: off, Part: p, Msg: msg, Hint: hint, Err: class}
}

// locate finds part in s without regard to ASCII case; it returns 0 and ""
// when part is empty or not there as written (spaces, full-width forms).
func locate(s, part string) (int, string) {
	if part == "" {
		return 0, ""
	}
	for i := 0; i+len(part) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(part)], part) {
			return i, s[i : i+len(part)]
		}
	}
	return 0, ""
}

// scopeError explains a vendor scope that is not a vendor.
func (c *Catalog) scopeError(req gpuspec.Request) error {
	if _, ok := lookup(c.idx.names, req.Scope); ok {
		either := withNames(req, "", append([]string{req.Scope}, req.Names...)...)
		return refuse(req, req.Scope, ErrVendor, fmt.Sprintf("%q is a type, not a vendor", req.Scope),
			fmt.Sprintf("write %s for any of these types; a vendor comes first, as in 2(amd,MI250)", either))
	}
	return refuse(req, req.Scope, ErrUnknownName, fmt.Sprintf("unknown vendor %q", req.Scope),
		"vendors: "+strings.Join(c.idx.vendorNames, ", "))
}

// vendorMismatch explains type t (written as name) that is not of vendor.
func (c *Catalog) vendorMismatch(req gpuspec.Request, name string, t, vendor int) error {
	tv := c.Vendors[c.idx.typeVendor[t]].Name
	vn := c.Vendors[vendor].Name
	if req.Scope != "" {
		return refuse(req, name, ErrVendor, fmt.Sprintf("%q is a type of vendor %s, not %s", name, tv, vn),
			fmt.Sprintf("%s types: %s", vn, c.typeList(vendor)))
	}
	return refuse(req, name, ErrVendor,
		fmt.Sprintf("%q is a type of vendor %s but %q of %s: alternatives must be types of one vendor", name, tv, req.Names[0], vn),
		fmt.Sprintf("%s types: %s; %s types: %s", vn, c.typeList(vendor), tv, c.typeList(c.idx.typeVendor[t])))
}

func (c *Catalog) typeList(vendor int) string {
	if len(c.idx.byVendor[vendor]) == 0 {
		return "none"
	}
	return strings.Join(c.idx.byVendor[vendor], ", ")
}

// wholeExample writes a request for whole cards of vd like req, for hints.
func (c *Catalog) wholeExample(req gpuspec.Request, vd *Vendor, types []int) string {
	ex := gpuspec.Request{Count: max(req.Count, 1), Names: []string{vd.Name}}
	if len(types) > 0 {
		ex.Scope, ex.Names = vd.Name, nil
		for _, t := range types {
			ex.Names = append(ex.Names, c.Types[t].Name)
		}
	}
	return ex.String()
}

// withNames writes req with other names, for hints.
func withNames(req gpuspec.Request, scope string, names ...string) string {
	req.Scope, req.Names = scope, names
	return req.String()
}

// String is the canonical form of what was resolved, written to the
// gpuplane.io/applied annotation: canonical type names, the vendor only
// when it is not the default, the memory only when the request gave it,
// e.g. "2(V100)", "0.5(T4)", "1(VGPU)", "0.5(T4,8Gi)", "2(amd,MI250)",
// "1(ascend)". Parsing and resolving it with the same catalog gives the
// same Resolved.
func (r Resolved) String() string {
	var req gpuspec.Request
	switch r.Kind {
	case KindWhole:
		req.Count = r.Count
	case KindVGPU:
		req.Count, req.VGPU = r.Count, true
	case KindShare:
		req.Hundredths = r.Hundredths
	case KindMIG:
		req.Count = 1
		if p, err := ParseMIGProfile(r.MIGProfile); err == nil {
			req.MIG = p.Resource()
		}
	default:
		return "0"
	}
	req.Names = r.Types
	if r.Vendor != nil && !r.Vendor.Default {
		if len(r.Types) == 0 {
			req.Names = []string{r.Vendor.Name}
		} else {
			req.Scope = r.Vendor.Name
		}
	}
	if r.MemoryGiven && r.Kind != KindMIG {
		req.MemoryBytes = r.MemoryMiB * gpuspec.MiB
	}
	return req.String()
}
