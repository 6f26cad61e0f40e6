package catalog

import (
	"cmp"
	"slices"
	"strings"
)

// A Pool is a group of nodes served the same way. A node is in the pool its
// label gpuplane.io/pool names (set by the operator, or by the node agent's
// --pool flag); a node without that label is in the pool "default". Order
// is preference: a request that several pools could serve takes the form of
// the first.
//
// A catalog without pools has one implicit pool, "default", with sharing
// gpu-manager and allocation device-plugin: shares and virtual cards go to
// tencent gpu-manager, as before pools existed.
type Pool struct {
	// Name is the value of the gpuplane.io/pool node label of its nodes; a
	// label value. Required.
	Name string
	// Types are the canonical type names this pool's nodes carry (aliases
	// are accepted in the file). Empty: any type.
	Types []string
	// Sharing is the backend that serves shares and virtual cards on this
	// pool's nodes. Default: gpu-manager.
	Sharing Sharing
	// Allocation is how cards reach pods. Default: device-plugin.
	Allocation Allocation
	// DRA is zero unless Allocation is dra.
	DRA DRA
	// HAMi holds HAMi's resource names and split count; defaulted for every
	// pool, read only when Sharing is hami.
	HAMi HAMi
	// MIG holds the NVIDIA device plugin's MIG strategy; defaulted for every
	// pool, read only when Sharing is mig.
	MIG MIG
	// Timeslice holds the NVIDIA device plugin's time-slicing settings;
	// defaulted for every pool, read only when Sharing is timeslice.
	Timeslice Timeslice
}

// Sharing is a backend that shares cards among pods.
type Sharing string

// The sharing backends (docs/sharing.md).
const (
	// SharingGPUManager is tencent gpu-manager (vcuda): tencent.com/vcuda-core
	// and tencent.com/vcuda-memory, memory and compute limited in software.
	SharingGPUManager Sharing = "gpu-manager"
	// SharingHAMi is HAMi's device plugin and HAMi-core: nvidia.com/gpu,
	// nvidia.com/gpumem and nvidia.com/gpucores, limited in software.
	SharingHAMi Sharing = "hami"
	// SharingMIG is NVIDIA Multi-Instance GPU through the NVIDIA device
	// plugin: instances partitioned in hardware.
	SharingMIG Sharing = "mig"
	// SharingTimeslice is the NVIDIA device plugin's time-slicing: replicas
	// of a card with neither memory nor compute limited.
	SharingTimeslice Sharing = "timeslice"
)

// Sharings lists the backends in the order documentation shows them.
var sharings = []Sharing{SharingGPUManager, SharingHAMi, SharingMIG, SharingTimeslice}

// Isolation says what a backend enforces on a share.
type Isolation struct {
	// Memory is set when a pod cannot use more card memory than it asked.
	Memory bool
	// Compute is set when a pod cannot use more of the card's compute than
	// its share.
	Compute bool
}

// Isolation returns what the backend enforces: gpu-manager and HAMi limit
// memory and compute in software (the CUDA library they inject), MIG in
// hardware, time-slicing neither.
func (s Sharing) Isolation() Isolation {
	switch s {
	case SharingGPUManager, SharingHAMi, SharingMIG:
		return Isolation{Memory: true, Compute: true}
	}
	return Isolation{}
}

// Allocation is how a pool's cards reach pods.
type Allocation string

// The allocation modes.
const (
	// AllocationDevicePlugin: extended resources of a device plugin.
	AllocationDevicePlugin Allocation = "device-plugin"
	// AllocationDRA: ResourceClaims of a DRA driver.
	AllocationDRA Allocation = "dra"
)

// DRA is where a dra pool's devices are found.
type DRA struct{ DeviceClass, MIGDeviceClass, TypeAttribute string }

// HAMi are the resource names of HAMi's device plugin (its defaults, which
// an operator may rename in HAMi's configuration) and its split count.
type HAMi struct {
	// Resource counts the cards a container gets. Default: nvidia.com/gpu.
	Resource string
	// MemoryResource is card memory in MiB. Default: nvidia.com/gpumem.
	MemoryResource string
	// MemoryPercentageResource is card memory in percent of the card.
	// Default: nvidia.com/gpumem-percentage.
	MemoryPercentageResource string
	// CoresResource is the card's compute in percent. Default:
	// nvidia.com/gpucores.
	CoresResource string
	// SplitCount is how many containers may share one card (HAMi's
	// deviceSplitCount). Default: 10.
	SplitCount int
}

// MIGStrategy is the NVIDIA device plugin's MIG strategy.
type MIGStrategy string

// The MIG strategies of the NVIDIA device plugin.
const (
	// MIGMixed advertises each profile as its own resource,
	// nvidia.com/mig-<profile>.
	MIGMixed MIGStrategy = "mixed"
	// MIGSingle advertises every instance of a node, all of one profile, as
	// nvidia.com/gpu.
	MIGSingle MIGStrategy = "single"
)

// MIG is how a mig pool's device plugin advertises instances.
type MIG struct {
	// Strategy is the device plugin's --mig-strategy. Default: mixed.
	Strategy MIGStrategy
}

// Timeslice is the NVIDIA device plugin's time-slicing configuration.
type Timeslice struct {
	// Resource is what one replica is advertised as:
	// nvidia.com/gpu.shared when the device plugin renames shared
	// resources (renameByDefault: true, the default in the catalog file),
	// nvidia.com/gpu otherwise. Default: nvidia.com/gpu.shared.
	Resource string
	// Replicas is how many replicas the device plugin makes of each card;
	// 0 when not given (what the nodes advertise is then all that is
	// known).
	Replicas int
}

// The node labels of pools.
const (
	// PoolLabel is the node label naming a node's pool.
	PoolLabel = "gpuplane.io/pool"
	// SharingLabel is the node label the node agent writes with the
	// backend that shares the node's cards.
	SharingLabel = "gpuplane.io/sharing"
	// MIGProfileLabel is the node label the node agent writes on a node
	// whose MIG instances are all of one profile (the layout the single
	// strategy needs), with that profile's resource suffix (1g.10gb).
	MIGProfileLabel = "gpuplane.io/mig.profile"
)

// DefaultPool is the pool of nodes without the pool label.
const DefaultPool = "default"

// The built-in names of the sharing backends' resources.
const (
	HAMiResource                 = "nvidia.com/gpu"
	HAMiMemoryResource           = "nvidia.com/gpumem"
	HAMiMemoryPercentageResource = "nvidia.com/gpumem-percentage"
	HAMiCoresResource            = "nvidia.com/gpucores"
	HAMiSplitCount               = 10
	MIGResourcePrefix            = "nvidia.com/mig-"
	MIGSingleResource            = "nvidia.com/gpu"
	TimesliceSharedResource      = "nvidia.com/gpu.shared"
	TimesliceResource            = "nvidia.com/gpu"
)

// defaultPools is the implicit pool of a catalog that lists none.
func defaultPools() []Pool {
	p := Pool{Name: DefaultPool}
	p.setDefaults()
	return []Pool{p}
}

// setDefaults fills a pool's zero fields.
func (p *Pool) setDefaults() {
	p.Sharing = cmp.Or(p.Sharing, SharingGPUManager)
	p.Allocation = cmp.Or(p.Allocation, AllocationDevicePlugin)
	p.HAMi.Resource = cmp.Or(p.HAMi.Resource, HAMiResource)
	p.HAMi.MemoryResource = cmp.Or(p.HAMi.MemoryResource, HAMiMemoryResource)
	p.HAMi.MemoryPercentageResource = cmp.Or(p.HAMi.MemoryPercentageResource, HAMiMemoryPercentageResource)
	p.HAMi.CoresResource = cmp.Or(p.HAMi.CoresResource, HAMiCoresResource)
	p.HAMi.SplitCount = cmp.Or(p.HAMi.SplitCount, HAMiSplitCount)
	p.MIG.Strategy = cmp.Or(p.MIG.Strategy, MIGMixed)
	p.Timeslice.Resource = cmp.Or(p.Timeslice.Resource, TimesliceSharedResource)
	if p.Allocation == AllocationDRA {
		p.DRA.setDefaults()
	}
}

// clonePools deep-copies pools, keeping nil apart from empty.
func clonePools(ps []Pool) []Pool {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Types = slices.Clone(out[i].Types)
	}
	return out
}

// poolNamed returns the pool with this name, case-sensitively (it is a
// label value).
func (c *Catalog) poolNamed(name string) (*Pool, bool) {
	for i := range c.Pools {
		if c.Pools[i].Name == name {
			return &c.Pools[i], true
		}
	}
	return nil, false
}

// hasType reports whether the pool's nodes may carry the type named
// canonically.
func (p *Pool) hasType(name string) bool {
	return len(p.Types) == 0 || slices.Contains(p.Types, name)
}

// validatePools checks the pools of a catalog whose types are known; it
// also turns aliases in Types into canonical names.
func (c *Catalog) validatePools(v *validator) {
	seen := map[string]bool{}
	var first *Pool // the first hami pool
	for i := range c.Pools {
		p := &c.Pools[i]
		f := idx("pools", i)
		if msg := labelValueProblem(p.Name); msg != "" {
			v.addf(f+".name", "%q: %s (a pool's name is the value of the node label %s)", p.Name, msg, PoolLabel)
		} else if seen[p.Name] {
			v.addf(f+".name", "pool %q is listed twice", p.Name)
		}
		seen[p.Name] = true
		types := map[string]bool{}
		for j, name := range p.Types {
			ft := idx(f+".types", j)
			t, ok := c.typeByName(name)
			if !ok {
				v.addf(ft, "unknown type %q; types: %s", name, strings.Join(c.typeNameList(), ", "))
				continue
			}
			if types[t.Name] {
				v.addf(ft, "%q is type %s, already listed", name, t.Name)
				continue
			}
			types[t.Name] = true
			p.Types[j] = t.Name
			if p.Sharing == SharingMIG && t.MIG.Slices == 0 {
				v.addf(ft, "type %s has no MIG profiles in this catalog (types[].mig); a mig pool needs them to choose an instance", t.Name)
			}
		}
		if p.Sharing == SharingMIG && len(p.Types) == 0 {
			v.addf(f+".types", "a mig pool lists its types (each with MIG profiles, types[].mig), so that a share can be given an instance of the right profile")
		}
		if !slices.Contains(sharings, p.Sharing) {
			v.addf(f+".sharing", "%q: must be gpu-manager, hami, mig or timeslice", p.Sharing)
		}
		switch p.Allocation {
		case AllocationDevicePlugin:
			if p.DRA != (DRA{}) {
				v.addf(f+".dra", "only a pool with allocation: dra takes dra settings")
			}
		case AllocationDRA:
			p.DRA.validate(v, f+".dra")
		default:
			v.addf(f+".allocation", "%q: must be device-plugin or dra", p.Allocation)
		}
		h := p.HAMi
		for _, r := range []struct{ field, name string }{
			{"resource", h.Resource}, {"memoryResource", h.MemoryResource},
			{"memoryPercentageResource", h.MemoryPercentageResource}, {"coresResource", h.CoresResource},
		} {
			if msg := resourceProblem(r.name); msg != "" {
				v.addf(f+".hami."+r.field, "%q: %s", r.name, msg)
			}
		}
		if p.Sharing == SharingHAMi {
			if first == nil {
				first = p
			} else if names := hamiNames(p.HAMi); names != hamiNames(first.HAMi) {
				v.addf(f+".hami", "names HAMi's resources %s; pool %q names them %s: HAMi's configuration names them once for the cluster, and the scheduler extender reads one set",
					names, first.Name, hamiNames(first.HAMi))
			}
		}
		if h.SplitCount < 1 || h.SplitCount > 100 {
			v.addf(f+".hami.splitCount", "%d: must be 1 to 100 (containers sharing one card)", h.SplitCount)
		}
		if p.MIG.Strategy != MIGMixed && p.MIG.Strategy != MIGSingle {
			v.addf(f+".mig.strategy", "%q: must be mixed or single, as the NVIDIA device plugin's --mig-strategy", p.MIG.Strategy)
		}
		if r := p.Timeslice.Resource; r != TimesliceSharedResource && r != TimesliceResource {
			v.addf(f+".timeslice", "resource %q: must be %s (renameByDefault: true) or %s (false)", r, TimesliceSharedResource, TimesliceResource)
		}
		if n := p.Timeslice.Replicas; n < 0 || n > 1024 {
			v.addf(f+".timeslice.replicas", "%d: must be 0 (not given) to 1024", n)
		}
	}
}

// hamiNames lists a HAMi pool's resource names, to tell pools apart.
func hamiNames(h HAMi) string {
	return strings.Join([]string{h.Resource, h.MemoryResource, h.MemoryPercentageResource, h.CoresResource}, ", ")
}

// typeByName finds a type by name or alias before the index is built.
func (c *Catalog) typeByName(name string) (*Type, bool) {
	for i := range c.Types {
		t := &c.Types[i]
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
		for _, a := range t.Aliases {
			if strings.EqualFold(a, name) {
				return t, true
			}
		}
	}
	return nil, false
}

func (c *Catalog) typeNameList() []string {
	out := make([]string, len(c.Types))
	for i, t := range c.Types {
		out[i] = t.Name
	}
	slices.SortFunc(out, compareNames)
	return out
}
