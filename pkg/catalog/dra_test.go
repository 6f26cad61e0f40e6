package catalog

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var nvidiaDRA = DRA{DeviceClass: DefaultDeviceClass, MIGDeviceClass: DefaultMIGDeviceClass, TypeAttribute: DefaultTypeAttribute}

func TestDRAForm(t *testing.T) {
	c := Default()
	v100, err := c.TypeSelector("V100", nvidiaDRA)
	if err != nil {
		t.Fatal(err)
	}
	a100, err := c.TypeSelector("A100", nvidiaDRA)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want DRAClaim
	}{
		{"0", DRAClaim{}},
		{"2", DRAClaim{Alternatives: []DRADevices{{Name: "gpu", DeviceClass: "gpu.nvidia.com", Count: 2}}}},
		{"2(V100)", DRAClaim{Alternatives: []DRADevices{{Name: "v100", Type: "V100", DeviceClass: "gpu.nvidia.com", Selector: v100, Count: 2}}}},
		{"2(v100m32|a100)", DRAClaim{Alternatives: []DRADevices{
			{Name: "v100", Type: "V100", DeviceClass: "gpu.nvidia.com", Selector: v100, Count: 2},
			{Name: "a100", Type: "A100", DeviceClass: "gpu.nvidia.com", Selector: a100, Count: 2}}}},
		{"1(A100-40GB)", DRAClaim{Alternatives: []DRADevices{{Name: "a100-40gb", Type: "A100-40GB", DeviceClass: "gpu.nvidia.com", Count: 1}}}},
	}
	for _, tc := range cases {
		r, err := c.ParseResolve(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DRAForm(r, nvidiaDRA)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if tc.in == "1(A100-40GB)" {
			got.Alternatives[0].Selector = "" // checked by TestTypeSelector
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestDRAFormRefused(t *testing.T) {
	c := Default()
	for _, tc := range []struct{ in, want string }{
		{"0.5(V100)", `"0.5(V100)": a share of a card, or vGPU cards, on a DRA pool is not possible; the DRA driver of this pool (gpu.nvidia.com) publishes no capacity that several claims could share; ask whole cards, e.g. 1(V100)`},
		{"1(VGPU)", `"1(VGPU)": a share of a card, or vGPU cards, on a DRA pool is not possible; the DRA driver of this pool (gpu.nvidia.com) publishes no capacity that several claims could share; ask whole cards, e.g. 1`},
		{"2(amd)", `"2(amd)": cards of another vendor than the default one on a DRA pool is not possible; the pool's DeviceClass gpu.nvidia.com gives nvidia cards`},
		{"33(V100)", `"33(V100)": 33 cards in one claim is not possible; a ResourceClaim holds at most 32 devices; ask at most 32`},
		{"1(T4|V100|A100|H100|H200|A10|A30|L4|L40S)", `"1(T4|V100|A100|H100|H200|A10|A30|L4|L40S)": 9 alternative types is not possible; a prioritized list holds at most 8; name at most 8 types`},
		{"1(G2)", `"1(G2)": type G2 on a DRA pool is not possible; type G2 has no product pattern, so no device attribute productName names it; give it one in the catalog (products), or ask another type`},
	} {
		r, err := c.ParseResolve(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.DRAForm(r, nvidiaDRA)
		if !errors.Is(err, ErrNoDRA) || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestTypeSelector(t *testing.T) {
	c := Default()
	got, err := c.TypeSelector("v100m32", nvidiaDRA)
	if err != nil {
		t.Fatal(err)
	}
	want := `"productName" in device.attributes["gpu.nvidia.com"] && (device.attributes["gpu.nvidia.com"]["productName"].matches("(?i)^TESLA V100.*32GB.*$"))`
	if got != want {
		t.Errorf("V100:\n got %s\nwant %s", got, want)
	}
	// A type whose pattern a more specific one of another type overlaps
	// excludes it: "NVIDIA A10" is exact, so nothing; a catalog with a
	// broad pattern shows the exclusion.
	broad, err := New(Catalog{Types: []Type{
		{Name: "H100", MemoryMiB: 81920, Products: []string{"NVIDIA H100*"}},
		{Name: "H100-NVL", MemoryMiB: 96256, Products: []string{"NVIDIA H100 NVL*"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = broad.TypeSelector("H100", DRA{DeviceClass: "gpu.example.com", TypeAttribute: "example.com/model"})
	if err != nil {
		t.Fatal(err)
	}
	want = `"model" in device.attributes["example.com"] && (device.attributes["example.com"]["model"].matches("(?i)^NVIDIA H100.*$") && !device.attributes["example.com"]["model"].matches("(?i)^NVIDIA H100 NVL.*$"))`
	if got != want {
		t.Errorf("H100:\n got %s\nwant %s", got, want)
	}
	if _, err := c.TypeSelector("X999", nvidiaDRA); !errors.Is(err, ErrUnknownName) {
		t.Errorf("unknown type: %v", err)
	}
}

// selects evaluates what TypeSelector writes the way CEL's matches does
// (RE2, as Go's regexp): the first term of each disjunct matches, the
// others (negated) do not.
func selects(t *testing.T, sel, product string) bool {
	t.Helper()
	_, expr, _ := strings.Cut(sel, " && (")
	expr = strings.TrimSuffix(expr, ")")
	re := regexp.MustCompile(`(!?)device\.attributes\["[^"]+"\]\["[^"]+"\]\.matches\("((?:[^"\\]|\\.)*)"\)`)
	for _, disjunct := range strings.Split(expr, ") || (") {
		ok := true
		for _, m := range re.FindAllStringSubmatch(disjunct, -1) {
			pat := strings.ReplaceAll(m[2], `\\`, `\`)
			matched := regexp.MustCompile(pat).MatchString(product)
			if matched == (m[1] == "!") {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestTypeSelectorAgreesWithMatchProduct: every product name the catalog
// maps to a type is selected by that type's selector and no other's.
func TestTypeSelectorAgreesWithMatchProduct(t *testing.T) {
	c, err := New(Catalog{Types: append(Default().Types,
		Type{Name: "H100-NVL", MemoryMiB: 96256, Products: []string{"NVIDIA H100 NVL*"}})})
	if err != nil {
		t.Fatal(err)
	}
	products := []string{"Tesla V100-SXM2-32GB", "Tesla V100-PCIE-16GB", "NVIDIA A100-SXM4-80GB", "NVIDIA A100-PCIE-40GB",
		"NVIDIA H100 80GB HBM3", "NVIDIA H100 NVL", "NVIDIA A10", "NVIDIA A10G", "Tesla T4", "NVIDIA L40S", "NVIDIA L40",
		"NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090 D", "NVIDIA H200 141GB HBM3e", "tesla t4", "Quadro X"}
	sels := map[string]string{}
	for _, ty := range c.Types {
		if len(ty.Products) > 0 {
			if sels[ty.Name], err = c.TypeSelector(ty.Name, nvidiaDRA); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range products {
		want := ""
		if ty, ok := c.MatchProduct(p); ok {
			want = ty.Name
		}
		for name, sel := range sels {
			if got := selects(t, sel, p); got != (name == want) {
				t.Errorf("%q: selector of %s says %v; the catalog says %q", p, name, got, want)
			}
		}
	}
}

func TestGlobsOverlap(t *testing.T) {
	for _, tc := range []struct {
		p, q string
		want bool
	}{
		{"NVIDIA H100*", "NVIDIA H100 NVL*", true},
		{"TESLA V100*32GB*", "TESLA V100*16GB*", true}, // "TESLA V100 16GB 32GB"
		{"NVIDIA A10", "NVIDIA A10G", false},
		{"NVIDIA A10?", "NVIDIA A10G", true},
		{"A*B", "C*", false},
		{"*", "", true},
		{"?", "", false},
		{"A*", "*B", true},
		{"AB", "A?C", false},
	} {
		if got := globsOverlap(tc.p, tc.q); got != tc.want {
			t.Errorf("globsOverlap(%q, %q) = %v", tc.p, tc.q, got)
		}
		if got := globsOverlap(tc.q, tc.p); got != tc.want {
			t.Errorf("globsOverlap(%q, %q) = %v", tc.q, tc.p, got)
		}
	}
}

// FuzzGlob checks globRegexp against globFold, and that two patterns a
// name matches are said to overlap.
func FuzzGlob(f *testing.F) {
	f.Add("TESLA V100*32GB*", "TESLA V100*", "Tesla V100-SXM2-32GB")
	f.Add("A?C*", "*C", "abc")
	f.Add("(.)+[", "*", "(.)+[")
	f.Fuzz(func(t *testing.T, p, q, name string) {
		p, q = strings.ToUpper(p), strings.ToUpper(q)
		for _, s := range []string{p, q, name} {
			for i := 0; i < len(s); i++ {
				if s[i] >= 0x80 || s[i] == '\n' {
					return // globFold folds ASCII bytes; RE2 runes and lines
				}
			}
		}
		re, err := regexp.Compile(globRegexp(p))
		if err != nil {
			t.Fatalf("globRegexp(%q) = %q: %v", p, globRegexp(p), err)
		}
		if re.MatchString(name) != globFold(p, name) {
			t.Fatalf("pattern %q, name %q: regexp %q says %v, globFold %v", p, name, globRegexp(p), re.MatchString(name), globFold(p, name))
		}
		if globFold(p, name) && globFold(q, name) && !globsOverlap(p, q) {
			t.Fatalf("%q matches %q and %q, which are said not to overlap", name, p, q)
		}
	})
}
