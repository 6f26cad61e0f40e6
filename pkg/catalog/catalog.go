package catalog

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// Catalog is what gpuplane knows about GPUs. Build one with Default, Load,
// LoadFile or New, which validate it and index it; treat it as read-only
// afterwards, since the indexes are not rebuilt.
type Catalog struct {
	// Vendors are the card makers; exactly one is the default, the one a
	// request that names no vendor or type gets. Default: nvidia (default),
	// amd, ascend.
	Vendors []Vendor
	// Types are the GPU types. Default: the built-in types (default.yaml)
	// of the catalog's vendors.
	Types []Type
	// VGPU names the vGPU resources. Each zero field takes the built-in
	// value: tencent.com/vcuda-core, 100, tencent.com/vcuda-memory, 256.
	VGPU VGPU
	// Labels are the node label keys. Each empty field takes the built-in
	// value: gpu, gpu-type, vgpu.
	Labels Labels
	// Roles are the values gpuplane.io/role accepts; each is also the key of
	// the node label "<role>=true". Nil: train, service, notebook; empty:
	// none.
	Roles []string
	// Tolerations are added to pods that ask for the default vendor's
	// cards, whole or through vGPU, unless that vendor lists its own (see
	// Vendor.Tolerations). Nil: tolerate the nvidia.com/gpu taint (Exists,
	// NoSchedule); empty: none.
	Tolerations []Toleration
	// Pools are the groups of nodes served one way (see Pool), in order of
	// preference. Nil: one pool, "default", sharing through gpu-manager
	// with device plugins.
	Pools []Pool

	idx *index
}

// Vendor is a card maker and the extended resource its device plugin
// advertises.
type Vendor struct {
	// Name is how requests name the vendor ("1(ascend)"); matched without
	// regard to case.
	Name string
	// Resource is the extended resource of a whole card (nvidia.com/gpu).
	Resource string
	// Default marks the vendor of requests that name none. vGPU is offered
	// for the default vendor's cards only.
	Default bool
	// Label is the key of the node label "<Label>=true" that marks the
	// nodes giving this vendor's cards whole to pods; a request for whole
	// cards requires it. Empty: the catalog's Labels.GPU ("gpu") for the
	// default vendor, the vendor's name ("amd", "ascend") for the others,
	// so that one vendor's nodes never draw another's pods or DaemonSets.
	Label string
	// Tolerations are added to pods that ask for this vendor's cards. Nil:
	// for the default vendor the catalog's Tolerations, for the others the
	// taint named like the vendor's resource (amd.com/gpu Exists
	// NoSchedule), as device-plugin guides taint such nodes; empty: none.
	Tolerations []Toleration
}

// Type is a GPU type.
type Type struct {
	// Name is the canonical name, the value of the gpu-type node label.
	Name string
	// Vendor is the vendor's name; empty means the default vendor.
	Vendor string
	// MemoryMiB is the memory of one card as sold, in MiB.
	MemoryMiB int64
	// Aliases are other names requests may use (V100M32 for V100).
	Aliases []string
	// Products are patterns of the product name the driver reports (NVML
	// for nvidia): '*' matches any run of characters, '?' one character,
	// case is ignored. When several types match, the pattern with the most
	// literal characters wins.
	Products []string
	// MIG is what Multi-Instance GPU offers on the type; zero when the type
	// has no MIG (or the catalog does not say).
	MIG TypeMIG
}

// VGPU names the resources of the vGPU device plugin.
type VGPU struct {
	// CoreResource counts vGPU cores (tencent.com/vcuda-core).
	CoreResource string
	// CoresPerCard is the cores of one whole card (100); a multiple of 100,
	// so that every hundredth of a card is a whole number of cores.
	CoresPerCard int
	// MemoryResource counts vGPU memory in units (tencent.com/vcuda-memory).
	MemoryResource string
	// MemoryUnitMiB is the size of one memory unit in MiB (256).
	MemoryUnitMiB int64
}

// Labels are the keys of the node labels gpuplane reads and the node agent
// writes.
type Labels struct {
	GPU     string // "gpu": the node has whole cards for pods
	GPUType string // "gpu-type": the catalog type of the node's cards
	VGPU    string // "vgpu": the node's cards are shared through vGPU
}

// Toleration is a pod toleration, as plain strings.
type Toleration struct {
	Key, Operator, Value, Effect string
}

// index is built once by New; every lookup on the hot path uses it.
type index struct {
	names       map[string]int // upper-cased type name or alias -> Types index
	vendors     map[string]int // upper-cased vendor name -> Vendors index
	roles       map[string]int // upper-cased role -> Roles index
	typeVendor  []int          // Types index -> Vendors index
	def         int            // default vendor
	typeNames   []string       // canonical type names, sorted
	vendorNames []string       // vendor names, sorted
	byVendor    [][]string     // Vendors index -> its type names, sorted
	minMiB      []int64        // Vendors index -> smallest memory of its types (0: none)
	maxMiB      []int64        // Vendors index -> largest memory of its types
	vendorLabel []string       // Vendors index -> its node label key
	vendorTols  [][]Toleration // Vendors index -> its tolerations
	products    []product      // most specific first
}

// New validates a catalog given as Go values and indexes it. Nil slices and
// zero fields take the built-in defaults (see the field comments); the
// input is copied, never modified.
func New(spec Catalog) (*Catalog, error) {
	def, err := builtin()
	if err != nil {
		return nil, err
	}
	c := spec.clone()
	c.setDefaults(def)
	if errs := c.validate(); len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	c.build()
	return c, nil
}

// clone deep-copies the exported fields.
func (c *Catalog) clone() *Catalog {
	out := &Catalog{
		Vendors:     slices.Clone(c.Vendors),
		Types:       slices.Clone(c.Types),
		VGPU:        c.VGPU,
		Labels:      c.Labels,
		Roles:       slices.Clone(c.Roles),
		Tolerations: slices.Clone(c.Tolerations),
		Pools:       clonePools(c.Pools),
	}
	for i := range out.Vendors {
		out.Vendors[i].Tolerations = slices.Clone(out.Vendors[i].Tolerations)
	}
	for i := range out.Types {
		out.Types[i].Aliases = slices.Clone(out.Types[i].Aliases)
		out.Types[i].Products = slices.Clone(out.Types[i].Products)
		out.Types[i].MIG.Profiles = slices.Clone(out.Types[i].MIG.Profiles)
	}
	return out
}

// setDefaults fills what is absent from def, in this one place. def is nil
// for the built-in catalog itself, which must be complete.
func (c *Catalog) setDefaults(def *Catalog) {
	if def != nil {
		if c.Vendors == nil {
			c.Vendors = slices.Clone(def.Vendors)
		}
		if c.Types == nil {
			// The built-in types of the vendors this catalog has, so that a
			// file listing only its vendors gets their types.
			for _, t := range def.clone().Types {
				if c.hasVendorFold(t.Vendor) {
					c.Types = append(c.Types, t)
				}
			}
			if c.Types == nil {
				c.Types = []Type{}
			}
		}
		if c.Roles == nil {
			c.Roles = slices.Clone(def.Roles)
		}
		if c.Tolerations == nil {
			c.Tolerations = slices.Clone(def.Tolerations)
		}
		c.VGPU.CoreResource = cmp.Or(c.VGPU.CoreResource, def.VGPU.CoreResource)
		c.VGPU.CoresPerCard = cmp.Or(c.VGPU.CoresPerCard, def.VGPU.CoresPerCard)
		c.VGPU.MemoryResource = cmp.Or(c.VGPU.MemoryResource, def.VGPU.MemoryResource)
		c.VGPU.MemoryUnitMiB = cmp.Or(c.VGPU.MemoryUnitMiB, def.VGPU.MemoryUnitMiB)
		c.Labels.GPU = cmp.Or(c.Labels.GPU, def.Labels.GPU)
		c.Labels.GPUType = cmp.Or(c.Labels.GPUType, def.Labels.GPUType)
		c.Labels.VGPU = cmp.Or(c.Labels.VGPU, def.Labels.VGPU)
	}
	// A type without a vendor is the default vendor's; a vendor written in
	// another case is spelt as the vendor is.
	for i := range c.Types {
		t := &c.Types[i]
		for _, v := range c.Vendors {
			if (t.Vendor == "" && v.Default) || (t.Vendor != "" && strings.EqualFold(t.Vendor, v.Name)) {
				t.Vendor = v.Name
				break
			}
		}
	}
	if c.Pools == nil {
		c.Pools = defaultPools()
	}
	for i := range c.Pools {
		c.Pools[i].setDefaults()
	}
	defaultOperator(c.Tolerations)
	for i := range c.Vendors {
		defaultOperator(c.Vendors[i].Tolerations)
	}
}

// defaultOperator sets the operator Kubernetes defaults to, Equal.
func defaultOperator(ts []Toleration) {
	for i := range ts {
		if ts[i].Operator == "" {
			ts[i].Operator = "Equal"
		}
	}
}

// vendorLabel is the node label key of vendor v (see Vendor.Label).
func (c *Catalog) vendorLabel(v *Vendor) string {
	switch {
	case v.Label != "":
		return v.Label
	case v.Default:
		return c.Labels.GPU
	}
	return v.Name
}

// vendorTolerations are the tolerations of vendor v's pods (see
// Vendor.Tolerations).
func (c *Catalog) vendorTolerations(v *Vendor) []Toleration {
	switch {
	case v.Tolerations != nil:
		return v.Tolerations
	case v.Default:
		return c.Tolerations
	}
	return []Toleration{{Key: v.Resource, Operator: "Exists", Effect: "NoSchedule"}}
}

func (c *Catalog) hasVendorFold(name string) bool {
	for _, v := range c.Vendors {
		if strings.EqualFold(v.Name, name) {
			return true
		}
	}
	return false
}

// build fills the indexes of a validated catalog.
func (c *Catalog) build() {
	x := &index{
		names:      make(map[string]int, 3*len(c.Types)),
		vendors:    make(map[string]int, len(c.Vendors)),
		roles:      make(map[string]int, len(c.Roles)),
		typeVendor: make([]int, len(c.Types)),
		byVendor:   make([][]string, len(c.Vendors)),
		minMiB:     make([]int64, len(c.Vendors)),
		maxMiB:     make([]int64, len(c.Vendors)),
	}
	for i, v := range c.Vendors {
		x.vendors[strings.ToUpper(v.Name)] = i
		x.vendorNames = append(x.vendorNames, v.Name)
		x.vendorLabel = append(x.vendorLabel, c.vendorLabel(&c.Vendors[i]))
		x.vendorTols = append(x.vendorTols, c.vendorTolerations(&c.Vendors[i]))
		if v.Default {
			x.def = i
		}
	}
	for i, t := range c.Types {
		vi := x.vendors[strings.ToUpper(t.Vendor)]
		x.typeVendor[i] = vi
		x.names[strings.ToUpper(t.Name)] = i
		for _, a := range t.Aliases {
			x.names[strings.ToUpper(a)] = i
		}
		x.typeNames = append(x.typeNames, t.Name)
		x.byVendor[vi] = append(x.byVendor[vi], t.Name)
		if x.minMiB[vi] == 0 || t.MemoryMiB < x.minMiB[vi] {
			x.minMiB[vi] = t.MemoryMiB
		}
		x.maxMiB[vi] = max(x.maxMiB[vi], t.MemoryMiB)
		for _, p := range t.Products {
			x.products = append(x.products, newProduct(p, i))
		}
	}
	for i, r := range c.Roles {
		x.roles[strings.ToUpper(r)] = i
	}
	slices.SortFunc(x.typeNames, compareNames)
	slices.SortFunc(x.vendorNames, compareNames)
	for _, names := range x.byVendor {
		slices.SortFunc(names, compareNames)
	}
	sortProducts(x.products)
	c.idx = x
}

// compareNames sorts names case-insensitively (amd, ascend, nvidia; A10,
// A100, a100x), so lists in messages read the same whatever the spelling.
func compareNames(a, b string) int {
	if c := cmp.Compare(strings.ToUpper(a), strings.ToUpper(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// lookup finds a name in a map of upper-cased keys without allocating for
// names of label size.
func lookup(m map[string]int, name string) (int, bool) {
	var buf [gpuspec.MaxNameLen + 1]byte
	if len(name) > len(buf) {
		i, ok := m[strings.ToUpper(name)]
		return i, ok
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	i, ok := m[string(buf[:len(name)])]
	return i, ok
}

// Type returns the type with this name or alias, case-insensitively.
func (c *Catalog) Type(name string) (*Type, bool) {
	i, ok := lookup(c.idx.names, strings.TrimSpace(name))
	if !ok {
		return nil, false
	}
	return &c.Types[i], true
}

// Vendor returns the vendor with this name, case-insensitively.
func (c *Catalog) Vendor(name string) (*Vendor, bool) {
	i, ok := lookup(c.idx.vendors, strings.TrimSpace(name))
	if !ok {
		return nil, false
	}
	return &c.Vendors[i], true
}

// VendorLabel returns the key of the node label ("<key>=true") that marks
// the nodes giving vendor's cards whole to pods, "" for a vendor this
// catalog does not have (see Vendor.Label).
func (c *Catalog) VendorLabel(vendor string) string {
	i, ok := lookup(c.idx.vendors, strings.TrimSpace(vendor))
	if !ok {
		return ""
	}
	return c.idx.vendorLabel[i]
}

// VendorTolerations returns the tolerations of pods asking for vendor's
// cards (see Vendor.Tolerations), nil for a vendor this catalog does not
// have; a fresh slice.
func (c *Catalog) VendorTolerations(vendor string) []Toleration {
	i, ok := lookup(c.idx.vendors, strings.TrimSpace(vendor))
	if !ok {
		return nil
	}
	return slices.Clone(c.idx.vendorTols[i])
}

// DefaultVendor returns the vendor of requests that name none.
func (c *Catalog) DefaultVendor() *Vendor { return &c.Vendors[c.idx.def] }

// VendorOf returns the vendor of a type of this catalog.
func (c *Catalog) VendorOf(t *Type) *Vendor {
	i, ok := lookup(c.idx.names, t.Name)
	if !ok {
		return nil
	}
	return &c.Vendors[c.idx.typeVendor[i]]
}

// TypeNames returns the canonical type names, sorted; a fresh slice.
func (c *Catalog) TypeNames() []string { return slices.Clone(c.idx.typeNames) }

// VendorNames returns the vendor names, sorted; a fresh slice.
func (c *Catalog) VendorNames() []string { return slices.Clone(c.idx.vendorNames) }
