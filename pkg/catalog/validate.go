package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// validator collects every problem rather than stopping at the first, so
// an operator fixes a catalog in one pass.
type validator struct{ errs []FieldError }

func (v *validator) addf(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func idx(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// validate checks a catalog whose defaults are set.
func (c *Catalog) validate() []FieldError {
	var v validator
	// owner maps an upper-cased type name, alias or vendor name to what
	// already uses it, so that every name means one thing.
	owner := map[string]string{}
	claim := func(field, name, what string) {
		key := strings.ToUpper(name)
		if prev, ok := owner[key]; ok {
			v.addf(field, "%q is already %s", name, prev)
			return
		}
		owner[key] = what
	}
	resources := map[string]string{}
	claimResource := func(field, name, what string) {
		if prev, ok := resources[name]; ok {
			v.addf(field, "resource %q is already the resource of %s", name, prev)
			return
		}
		resources[name] = what
	}

	defaults := 0
	if len(c.Vendors) == 0 {
		v.addf("vendors", "at least one vendor is needed, e.g. nvidia with resource nvidia.com/gpu")
	}
	for i, vd := range c.Vendors {
		f := idx("vendors", i)
		if msg := nameProblem(vd.Name); msg != "" {
			v.addf(f+".name", "%q: %s", vd.Name, msg)
		} else {
			claim(f+".name", vd.Name, "vendor "+vd.Name)
		}
		if msg := resourceProblem(vd.Resource); msg != "" {
			v.addf(f+".resource", "%q: %s", vd.Resource, msg)
		} else {
			claimResource(f+".resource", vd.Resource, "vendor "+vd.Name)
		}
		if vd.Default {
			defaults++
		}
	}
	if len(c.Vendors) > 0 && defaults != 1 {
		v.addf("vendors", "exactly one vendor must be the default (default: true), not %d", defaults)
	}

	vendorTypes := map[string]int{}
	patterns := map[string]string{}
	for i, t := range c.Types {
		f := idx("types", i)
		if msg := nameProblem(t.Name); msg != "" {
			v.addf(f+".name", "%q: %s", t.Name, msg)
		} else {
			claim(f+".name", t.Name, "the name of type "+t.Name)
		}
		if !c.hasVendor(t.Vendor) {
			v.addf(f+".vendor", "%q is not a vendor of this catalog; vendors: %s", t.Vendor, strings.Join(c.vendorNameList(), ", "))
		} else {
			vendorTypes[strings.ToUpper(t.Vendor)]++
		}
		switch {
		case t.MemoryMiB <= 0:
			v.addf(f+".memory", "the memory of one card is needed, e.g. 16Gi")
		case t.MemoryMiB > gpuspec.MaxMemoryBytes/gpuspec.MiB:
			v.addf(f+".memory", "%dMi is more than 64Ti", t.MemoryMiB)
		}
		for j, a := range t.Aliases {
			fa := idx(f+".aliases", j)
			if msg := nameProblem(a); msg != "" {
				v.addf(fa, "%q: %s", a, msg)
			} else {
				claim(fa, a, "an alias of type "+t.Name)
			}
		}
		validateMIG(&v, f, &c.Types[i])
		for j, p := range t.Products {
			fp := idx(f+".products", j)
			if msg := patternProblem(p); msg != "" {
				v.addf(fp, "%q: %s", p, msg)
				continue
			}
			key := strings.ToUpper(strings.TrimSpace(p))
			if prev, ok := patterns[key]; ok {
				v.addf(fp, "pattern %q is already a pattern of type %s", p, prev)
				continue
			}
			patterns[key] = t.Name
		}
	}
	for _, vd := range c.Vendors {
		if vd.Default && vendorTypes[strings.ToUpper(vd.Name)] == 0 {
			v.addf("types", "the default vendor %s has no type; at least one is needed to size vGPU memory for requests that name no type", vd.Name)
		}
	}

	g := c.VGPU
	if msg := resourceProblem(g.CoreResource); msg != "" {
		v.addf("vgpu.coreResource", "%q: %s", g.CoreResource, msg)
	} else {
		claimResource("vgpu.coreResource", g.CoreResource, "vGPU cores")
	}
	if msg := resourceProblem(g.MemoryResource); msg != "" {
		v.addf("vgpu.memoryResource", "%q: %s", g.MemoryResource, msg)
	} else {
		claimResource("vgpu.memoryResource", g.MemoryResource, "vGPU memory")
	}
	if g.CoresPerCard <= 0 || g.CoresPerCard%100 != 0 || g.CoresPerCard > 100000 {
		v.addf("vgpu.coresPerCard", "%d: must be a positive multiple of 100 (at most 100000), so that every hundredth of a card is whole cores", g.CoresPerCard)
	}
	if g.MemoryUnitMiB <= 0 || g.MemoryUnitMiB > gpuspec.MaxMemoryBytes/gpuspec.MiB {
		v.addf("vgpu.memoryUnit", "%dMi: must be above 0 and at most 64Ti, e.g. 256Mi", g.MemoryUnitMiB)
	}

	labels := map[string]string{}
	for _, l := range []struct{ field, key string }{
		{"labels.gpu", c.Labels.GPU}, {"labels.gpuType", c.Labels.GPUType}, {"labels.vgpu", c.Labels.VGPU},
	} {
		if msg := labelKeyProblem(l.key); msg != "" {
			v.addf(l.field, "%q: %s", l.key, msg)
			continue
		}
		if prev, ok := labels[l.key]; ok {
			v.addf(l.field, "label %q is already %s", l.key, prev)
			continue
		}
		labels[l.key] = l.field
	}
	// A vendor's node label is its own: another vendor's nodes, the type
	// and vGPU labels and the roles may not use it.
	for i := range c.Vendors {
		vd := &c.Vendors[i]
		f := idx("vendors", i) + ".label"
		key := c.vendorLabel(vd)
		if msg := labelKeyProblem(key); msg != "" {
			v.addf(f, "%q: %s", key, msg)
			continue
		}
		prev, ok := labels[key]
		switch {
		case ok && vd.Default && prev == "labels.gpu":
			// The default vendor's nodes are the gpu=true ones.
		case ok:
			v.addf(f, "label %q of vendor %s is already %s; each vendor's nodes need a label of their own, e.g. %s",
				key, vd.Name, prev, strings.ToLower(vd.Name))
		default:
			labels[key] = "the label of vendor " + vd.Name
		}
	}
	for i, vd := range c.Vendors {
		for j, t := range vd.Tolerations {
			validateToleration(&v, idx(idx("vendors", i)+".tolerations", j), t)
		}
	}
	roles := map[string]bool{}
	for i, r := range c.Roles {
		f := idx("roles", i)
		if msg := labelKeyProblem(r); msg != "" {
			v.addf(f, "%q: %s (a role is also the key of the node label %s=true)", r, msg, r)
			continue
		}
		if prev, ok := labels[r]; ok {
			v.addf(f, "role %q is already the label key of %s", r, prev)
			continue
		}
		// Roles are matched without regard to case, so they must differ by
		// more than case.
		if key := strings.ToUpper(r); roles[key] {
			v.addf(f, "role %q is listed twice", r)
		} else {
			roles[key] = true
		}
	}
	for i, t := range c.Tolerations {
		validateToleration(&v, idx("tolerations", i), t)
	}
	c.validatePools(&v)
	return v.errs
}

func validateToleration(v *validator, f string, t Toleration) {
	if t.Key != "" {
		if msg := labelKeyProblem(t.Key); msg != "" {
			v.addf(f+".key", "%q: %s", t.Key, msg)
		}
	}
	switch t.Operator {
	case "Exists":
		if t.Value != "" {
			v.addf(f+".value", "%q: must be empty with operator Exists", t.Value)
		}
	case "Equal":
		if t.Key == "" {
			v.addf(f+".key", "an empty key needs operator Exists")
		}
		if errs := content.IsLabelValue(t.Value); len(errs) > 0 {
			v.addf(f+".value", "%q: %s", t.Value, strings.Join(errs, "; "))
		}
	default:
		v.addf(f+".operator", "%q: must be Exists or Equal", t.Operator)
	}
	switch t.Effect {
	case "", "NoSchedule", "PreferNoSchedule", "NoExecute":
	default:
		v.addf(f+".effect", "%q: must be NoSchedule, PreferNoSchedule, NoExecute, or empty for all", t.Effect)
	}
}

func (c *Catalog) hasVendor(name string) bool {
	for _, v := range c.Vendors {
		if v.Name == name {
			return true
		}
	}
	return false
}

func (c *Catalog) vendorNameList() []string {
	out := make([]string, len(c.Vendors))
	for i, v := range c.Vendors {
		out[i] = v.Name
	}
	return out
}

// nameProblem checks a type, alias or vendor name against the request
// grammar, which is what people will write.
func nameProblem(s string) string {
	if msg := gpuspec.NameProblem(s); msg != "" {
		return msg + "; a name is like V100, A100-40GB or V100M16"
	}
	return ""
}

// resourceProblem checks an extended resource name: a label key with a
// domain prefix outside kubernetes.io, as the API server requires.
func resourceProblem(s string) string {
	if s == "" {
		return "a resource name is needed, e.g. nvidia.com/gpu"
	}
	if errs := content.IsPrefixedLabelKey(s); len(errs) > 0 {
		return "not an extended resource name (like example.com/gpu): " + strings.Join(errs, "; ")
	}
	prefix, name, _ := strings.Cut(s, "/")
	if prefix == "kubernetes.io" || strings.HasSuffix(prefix, ".kubernetes.io") || strings.HasPrefix(name, "requests.") {
		return "extended resources may not use the kubernetes.io domain nor start with requests."
	}
	return ""
}

func labelValueProblem(s string) string {
	if s == "" {
		return "a name is needed"
	}
	if errs := content.IsLabelValue(s); len(errs) > 0 {
		return "not a label value: " + strings.Join(errs, "; ")
	}
	return ""
}

func labelKeyProblem(s string) string {
	if s == "" {
		return "a label key is needed"
	}
	if errs := content.IsLabelKey(s); len(errs) > 0 {
		return "not a label key: " + strings.Join(errs, "; ")
	}
	return ""
}
