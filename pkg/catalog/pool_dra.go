package catalog

import (
	"cmp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// The defaults of a dra pool's DRA settings: the names NVIDIA's DRA driver
// for GPUs (kubernetes-sigs/dra-driver-nvidia-gpu, release v0.4.1) installs
// and publishes.
const (
	// DefaultDeviceClass selects the driver's whole GPUs.
	DefaultDeviceClass = "gpu.nvidia.com"
	// DefaultMIGDeviceClass selects the driver's MIG devices.
	DefaultMIGDeviceClass = "mig.nvidia.com"
	// DefaultTypeAttribute is the device attribute whose value names the
	// card ("Tesla V100-SXM2-32GB"), matched against the types' products.
	DefaultTypeAttribute = "productName"
)

// setDefaults fills the zero fields of a dra pool's settings.
func (d *DRA) setDefaults() {
	d.DeviceClass = cmp.Or(d.DeviceClass, DefaultDeviceClass)
	d.MIGDeviceClass = cmp.Or(d.MIGDeviceClass, DefaultMIGDeviceClass)
	d.TypeAttribute = cmp.Or(d.TypeAttribute, DefaultTypeAttribute)
}

// validate checks a dra pool's defaulted settings; f is their field path.
func (d DRA) validate(v *validator, f string) {
	for _, dc := range []struct{ field, name string }{
		{".deviceClass", d.DeviceClass}, {".migDeviceClass", d.MIGDeviceClass},
	} {
		if errs := content.IsDNS1123Subdomain(dc.name); len(errs) > 0 {
			v.addf(f+dc.field, "%q: not a DeviceClass name (a DNS subdomain such as %s): %s", dc.name, DefaultDeviceClass, strings.Join(errs, "; "))
		}
	}
	if msg := attributeProblem(d.TypeAttribute); msg != "" {
		v.addf(f+".typeAttribute", "%q: %s", d.TypeAttribute, msg)
	}
}

// AttributeDomain returns the domain and the name of the type attribute. A
// name without a domain ("productName") is in the domain named like the
// DeviceClass, which for NVIDIA's driver is also the driver's name and so
// the domain of its attributes: ("gpu.nvidia.com", "productName").
func (d DRA) AttributeDomain() (domain, name string) {
	if dom, n, ok := strings.Cut(d.TypeAttribute, "/"); ok {
		return dom, n
	}
	return d.DeviceClass, d.TypeAttribute
}

// attributeProblem checks a device attribute name as resource.k8s.io/v1
// does: a C identifier of at most 32 characters, optionally after a domain
// (a DNS subdomain of at most 63 characters) and a '/'.
func attributeProblem(s string) string {
	domain, name, qualified := strings.Cut(s, "/")
	if !qualified {
		domain, name = "", s
	}
	const hint = "an attribute name is a C identifier of at most 32 characters, optionally after a domain and '/', e.g. productName or gpu.nvidia.com/productName"
	if name == "" || len(name) > 32 || len(content.IsCIdentifier(name)) > 0 {
		return "not an attribute name; " + hint
	}
	if qualified && (len(domain) > 63 || len(content.IsDNS1123Subdomain(domain)) > 0) {
		return "the domain is not a DNS subdomain of at most 63 characters; " + hint
	}
	return ""
}

// PoolForRequest returns the pool whose form a resolved request of whole
// cards takes: the first pool, in order, that may carry one of its types
// (a pool without types carries any type of the default vendor). A request
// of another vendor's cards takes the form of the first pool listing one of
// its types (those named, or else all of the vendor's), and without one the
// device-plugin form, as does "0". A catalog without pools answers its
// implicit pool.
func (c *Catalog) PoolForRequest(r Resolved) Pool {
	implicit := defaultPools()[0]
	if r.Kind == KindNone || r.Vendor == nil {
		return implicit
	}
	types := r.Types
	listed := !r.Vendor.Default
	if listed && len(types) == 0 {
		vi, _ := lookup(c.idx.vendors, r.Vendor.Name)
		types = c.idx.byVendor[vi]
	}
	for _, p := range c.Pools {
		switch {
		case listed:
			if slices.ContainsFunc(types, func(t string) bool { return slices.Contains(p.Types, t) }) {
				return p
			}
		case len(types) == 0 || slices.ContainsFunc(types, p.hasType):
			return p
		}
	}
	return implicit
}

// HasDRAPool tells whether some pool allocates by DRA: its pods name claim
// templates that must be kept, and the extender must read ResourceSlices.
func (c *Catalog) HasDRAPool() bool {
	for _, p := range c.Pools {
		if p.Allocation == AllocationDRA {
			return true
		}
	}
	return false
}
