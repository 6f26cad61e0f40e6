package request

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// Vocabulary is the names and units the extender reads pods and nodes with:
// resource names, label keys and the vGPU units. It comes from the catalog
// (see VocabularyFrom) so that operators who rename a resource or a label do
// it in one place.
type Vocabulary struct {
	// WholeResources are the extended resources of whole cards handed out by
	// device plugins, one per vendor, the default vendor's first.
	WholeResources []corev1.ResourceName
	// CoreResource is the vGPU core resource; CoresPerCard of it is one card.
	CoreResource corev1.ResourceName
	CoresPerCard int64
	// MemoryResource is the vGPU memory resource, counted in MemoryUnitMiB.
	MemoryResource corev1.ResourceName
	MemoryUnitMiB  int64
	// LabelGPU, LabelGPUType and LabelVGPU are the node label keys the node
	// agent writes: "gpu", "gpu-type" and "vgpu" by default.
	LabelGPU     string
	LabelGPUType string
	LabelVGPU    string
	// TypeMemoryMiB returns the memory of a catalog type, false when the
	// type is unknown; used for nodes without a devices annotation.
	TypeMemoryMiB func(typ string) (int64, bool)
	// TypeOfProduct returns the catalog type of a product name as the
	// driver reports it ("Tesla T4"), false when none matches; used for the
	// cards HAMi registers.
	TypeOfProduct func(product string) (string, bool)

	// The other sharing backends' resources (docs/sharing.md). HAMi's are
	// the catalog's HAMi pools' (HAMi's defaults unless the operator renamed
	// them in HAMi's configuration and the catalog alike); the MIG and
	// time-slicing ones are fixed by the NVIDIA device plugin.
	//
	// HAMiResource counts the cards of a HAMi container (the default
	// vendor's resource, nvidia.com/gpu, unless renamed);
	// HAMiMemoryResource is HAMi's card memory in MiB; HAMiMemoryPercent
	// its card memory in percent of the card; HAMiCoreResource its compute
	// in percent of a card.
	HAMiResource       corev1.ResourceName
	HAMiMemoryResource corev1.ResourceName
	HAMiMemoryPercent  corev1.ResourceName
	HAMiCoreResource   corev1.ResourceName
	// MIGResourcePrefix begins the NVIDIA device plugin's MIG resources
	// (mixed strategy): "nvidia.com/mig-3g.40gb" is instances of profile
	// 3g.40gb.
	MIGResourcePrefix string
	// TimesliceResource is a time-slicing replica (renameByDefault).
	TimesliceResource corev1.ResourceName
	// LabelSharing is the node label the node agent writes with the
	// node's sharing backend.
	LabelSharing string

	// types maps each catalog type's name to the catalog's own string of
	// it (InternType); nil interns nothing.
	types map[string]string
}

// InternType returns the catalog's own string for a type the catalog
// names, and t itself for any other: with every node's cards and every
// request holding the one string of a type, comparing a request's types
// with thousands of nodes' cards compares pointers first and reads one
// string that stays in the processor's cache, not a string per node.
func (v *Vocabulary) InternType(t string) string {
	if s, ok := v.types[t]; ok {
		return s
	}
	return t
}

// The sharing backends' names as their device plugins publish them by
// default: the catalog's.
const (
	DefaultHAMiMemoryResource = catalog.HAMiMemoryResource
	DefaultHAMiMemoryPercent  = catalog.HAMiMemoryPercentageResource
	DefaultHAMiCoreResource   = catalog.HAMiCoresResource
	DefaultMIGResourcePrefix  = catalog.MIGResourcePrefix
	DefaultTimesliceResource  = catalog.TimesliceSharedResource
	DefaultLabelSharing       = catalog.SharingLabel
)

// WithSharingDefaults fills the sharing backends' names left empty; HAMi's
// card count defaults to the first whole-card resource.
func (v *Vocabulary) WithSharingDefaults() *Vocabulary {
	if v.HAMiResource == "" {
		v.HAMiResource = catalog.HAMiResource
		if len(v.WholeResources) > 0 {
			v.HAMiResource = v.WholeResources[0]
		}
	}
	if v.HAMiMemoryResource == "" {
		v.HAMiMemoryResource = DefaultHAMiMemoryResource
	}
	if v.HAMiMemoryPercent == "" {
		v.HAMiMemoryPercent = DefaultHAMiMemoryPercent
	}
	if v.HAMiCoreResource == "" {
		v.HAMiCoreResource = DefaultHAMiCoreResource
	}
	if v.MIGResourcePrefix == "" {
		v.MIGResourcePrefix = DefaultMIGResourcePrefix
	}
	if v.TimesliceResource == "" {
		v.TimesliceResource = DefaultTimesliceResource
	}
	if v.LabelSharing == "" {
		v.LabelSharing = DefaultLabelSharing
	}
	return v
}

// isWholeResource tells whether r is one of the whole-card resources.
func (v *Vocabulary) isWholeResource(r corev1.ResourceName) bool {
	for _, w := range v.WholeResources {
		if w == r {
			return true
		}
	}
	return false
}

// managed lists every resource the extender decides on, as kube-scheduler's
// managedResources should name them.
func (v *Vocabulary) managed() []corev1.ResourceName {
	out := append([]corev1.ResourceName(nil), v.WholeResources...)
	if !v.isWholeResource(v.HAMiResource) {
		out = append(out, v.HAMiResource)
	}
	return append(out, v.CoreResource, v.MemoryResource, v.HAMiMemoryResource, v.HAMiMemoryPercent, v.HAMiCoreResource, v.TimesliceResource)
}

// VocabularyFrom reads the vocabulary off a catalog. HAMi's resource names
// are those of the catalog's first pool with sharing hami (the catalog
// refuses HAMi pools that name them differently), so that the extender reads
// what the webhook writes; a catalog without a HAMi pool gives HAMi's
// defaults. HAMi's card resource, when renamed, is also read as whole cards
// (a HAMi container asking for cards alone).
func VocabularyFrom(c *catalog.Catalog) *Vocabulary {
	def := c.DefaultVendor()
	v := &Vocabulary{
		WholeResources: []corev1.ResourceName{corev1.ResourceName(def.Resource)},
		CoreResource:   corev1.ResourceName(c.VGPU.CoreResource),
		CoresPerCard:   int64(c.VGPU.CoresPerCard),
		MemoryResource: corev1.ResourceName(c.VGPU.MemoryResource),
		MemoryUnitMiB:  c.VGPU.MemoryUnitMiB,
		LabelGPU:       c.Labels.GPU,
		LabelGPUType:   c.Labels.GPUType,
		LabelVGPU:      c.Labels.VGPU,
		TypeMemoryMiB: func(typ string) (int64, bool) {
			t, ok := c.Type(typ)
			if !ok {
				return 0, false
			}
			return t.MemoryMiB, true
		},
		TypeOfProduct: func(product string) (string, bool) {
			t, ok := c.MatchProduct(product)
			if !ok {
				return "", false
			}
			return t.Name, true
		},
	}
	v.types = make(map[string]string, len(c.Types))
	for _, t := range c.Types {
		v.types[t.Name] = t.Name
	}
	for _, p := range c.Pools {
		if p.Sharing != catalog.SharingHAMi {
			continue
		}
		v.HAMiResource = corev1.ResourceName(p.HAMi.Resource)
		v.HAMiMemoryResource = corev1.ResourceName(p.HAMi.MemoryResource)
		v.HAMiMemoryPercent = corev1.ResourceName(p.HAMi.MemoryPercentageResource)
		v.HAMiCoreResource = corev1.ResourceName(p.HAMi.CoresResource)
		break
	}
	v.WithSharingDefaults()
	for _, vendor := range c.Vendors {
		if r := corev1.ResourceName(vendor.Resource); r != "" && !v.isWholeResource(r) {
			v.WholeResources = append(v.WholeResources, r)
		}
	}
	if !v.isWholeResource(v.HAMiResource) {
		v.WholeResources = append(v.WholeResources, v.HAMiResource)
	}
	return v
}
