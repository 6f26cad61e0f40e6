package catalog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// TypeMIG is what NVIDIA Multi-Instance GPU offers on a type.
type TypeMIG struct {
	// Slices is the compute slices of a whole card: 7, or 4 on the A30.
	// 0: the type has no MIG.
	Slices int
	// Profiles are the GPU instance profiles the type offers, as NVIDIA
	// names them ("1g.10gb", "1g.10gb+me"), in the order written.
	Profiles []MIGProfile
}

// MIGProfile is a GPU instance profile: "<compute slices>g.<memory>gb",
// with "+me" for the variant that holds the card's media engines.
type MIGProfile struct {
	// Name is NVIDIA's name, e.g. "3g.40gb" or "1g.10gb+me".
	Name string
	// Slices is the compute slices of one instance, the number before "g".
	Slices int
	// MemoryMiB is the memory the name gives, in MiB (GiB for the name's
	// GB, as nvidia-smi rounds it: 3g.40gb is 40960 MiB; the driver reports
	// slightly less usable memory, e.g. 9728 MiB for an A100 80GB's
	// 1g.10gb).
	MemoryMiB int64
	// Media is set for "+me" profiles, which hold the card's media engines
	// and of which a card has at most one; never chosen to hold a share.
	Media bool
}

// Resource is the suffix of the profile's extended resource with the NVIDIA
// device plugin's mixed strategy (nvidia.com/mig-<suffix>), and how the
// request shorthand names it after "mig-": the name with "+" written ".",
// as the device plugin writes it ("1g.10gb+me" is "1g.10gb.me").
func (p MIGProfile) Resource() string { return strings.ReplaceAll(p.Name, "+", ".") }

// ParseMIGProfile reads a profile name as NVIDIA writes it ("3g.40gb",
// "1g.10gb+me", any case) or as the device plugin's resource writes it
// ("1g.10gb.me"). The name returned is NVIDIA's, in lower case.
func ParseMIGProfile(s string) (MIGProfile, error) {
	name := strings.ToLower(s)
	media := false
	switch {
	case strings.HasSuffix(name, "+me"):
		media, name = true, strings.TrimSuffix(name, "+me")
	case strings.HasSuffix(name, ".me"):
		media, name = true, strings.TrimSuffix(name, ".me")
	}
	g, mem, ok := strings.Cut(name, "g.")
	bad := func() error {
		return fmt.Errorf("%q is not a MIG profile name like 1g.10gb, 3g.40gb or 1g.10gb+me", s)
	}
	if !ok || !strings.HasSuffix(mem, "gb") {
		return MIGProfile{}, bad()
	}
	mem = strings.TrimSuffix(mem, "gb")
	slices, ok1 := smallNumber(g, 8)
	gb, ok2 := smallNumber(mem, gpuspec.MaxMemoryBytes/gpuspec.GiB)
	if !ok1 || !ok2 {
		return MIGProfile{}, bad()
	}
	p := MIGProfile{Name: name, Slices: slices, MemoryMiB: int64(gb) * 1024, Media: media}
	if media {
		p.Name += "+me"
	}
	return p, nil
}

// smallNumber reads 1..limit written in decimal digits without a leading
// zero.
func smallNumber(s string, limit int64) (int, bool) {
	if s == "" || len(s) > 6 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || int64(n) > limit {
		return 0, false
	}
	return n, true
}

// MIGProfile returns the type's profile written name (NVIDIA's name or the
// resource suffix, any case).
func (t *Type) MIGProfile(name string) (MIGProfile, bool) {
	want, err := ParseMIGProfile(name)
	if err != nil {
		return MIGProfile{}, false
	}
	return t.migProfileNamed(want.Name)
}

// migProfileNamed returns the type's profile of NVIDIA's name (as
// ParseMIGProfile returns it).
func (t *Type) migProfileNamed(name string) (MIGProfile, bool) {
	for _, p := range t.MIG.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return MIGProfile{}, false
}

// MIGProfileNames returns the names of the type's profiles, in the
// catalog's order.
func (t *Type) MIGProfileNames() []string {
	out := make([]string, len(t.MIG.Profiles))
	for i, p := range t.MIG.Profiles {
		out[i] = p.Resource()
	}
	return out
}

// smallestMIG returns the smallest profile of t, not a media one, whose
// instance holds the compute of a share of hundredths of the card and
// memMiB of memory: fewest slices first, then least memory.
func (t *Type) smallestMIG(hundredths int, memMiB int64) (MIGProfile, bool) {
	need := (hundredths*t.MIG.Slices + 99) / 100
	var best MIGProfile
	found := false
	for _, p := range t.MIG.Profiles {
		if p.Media || p.Slices < need || p.MemoryMiB < memMiB {
			continue
		}
		if !found || p.Slices < best.Slices || (p.Slices == best.Slices && p.MemoryMiB < best.MemoryMiB) {
			best, found = p, true
		}
	}
	return best, found
}

// holdingMIG returns the resource suffixes of t's profiles, not media ones,
// at least as large as p in compute and memory: what a node partitioned in
// one profile for the single strategy may carry to serve p.
func (t *Type) holdingMIG(p MIGProfile) []string {
	var out []string
	for _, q := range t.MIG.Profiles {
		if !q.Media && q.Slices >= p.Slices && q.MemoryMiB >= p.MemoryMiB {
			out = append(out, q.Resource())
		}
	}
	return out
}

// validateMIG checks a type's MIG table.
func validateMIG(v *validator, f string, t *Type) {
	m := t.MIG
	if m.Slices == 0 && len(m.Profiles) == 0 {
		return
	}
	if m.Slices < 1 || m.Slices > 8 {
		v.addf(f+".mig.slices", "%d: the compute slices of a card are 1 to 8 (7 on most MIG cards, 4 on the A30)", m.Slices)
	}
	if len(m.Profiles) == 0 {
		v.addf(f+".mig.profiles", "a type with MIG lists its profiles, e.g. [1g.10gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb]")
	}
	seen := map[string]bool{}
	for j, p := range m.Profiles {
		fp := idx(f+".mig.profiles", j)
		if seen[p.Name] {
			v.addf(fp, "profile %s is listed twice", p.Name)
		}
		seen[p.Name] = true
		if m.Slices > 0 && p.Slices > m.Slices {
			v.addf(fp, "profile %s has %d compute slices, more than the card's %d", p.Name, p.Slices, m.Slices)
		}
		if t.MemoryMiB > 0 && p.MemoryMiB > t.MemoryMiB {
			v.addf(fp, "profile %s has more memory than the card's %s", p.Name, gpuspec.FormatMemory(t.MemoryMiB*gpuspec.MiB))
		}
	}
}

// migTypes returns the types (canonical names, sorted) that offer a profile.
func (c *Catalog) migTypes(profile string) []string {
	want, err := ParseMIGProfile(profile)
	if err != nil {
		return nil
	}
	var out []string
	for i := range c.Types {
		if _, ok := c.Types[i].migProfileNamed(want.Name); ok {
			out = append(out, c.Types[i].Name)
		}
	}
	slices.SortFunc(out, compareNames)
	return out
}
