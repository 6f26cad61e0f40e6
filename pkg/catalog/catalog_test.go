package catalog

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestDefaultKnowsWhatTheSpecLists checks the built-in catalog against
// SPEC §3: the types with their memory as sold, the smaller models as
// their own types with an alias, the Alibaba trace's model names, the
// vendors, the vGPU resources, labels, roles and taints.
func TestDefaultKnowsWhatTheSpecLists(t *testing.T) {
	c := Default()
	const gi = 1024
	types := []struct {
		name   string
		vendor string
		memMiB int64
	}{
		{"T4", "nvidia", 16 * gi}, {"V100", "nvidia", 32 * gi}, {"V100-16GB", "nvidia", 16 * gi},
		{"A100", "nvidia", 80 * gi}, {"A100-40GB", "nvidia", 40 * gi}, {"A10", "nvidia", 24 * gi},
		{"H100", "nvidia", 80 * gi}, {"H200", "nvidia", 141 * gi}, {"L40S", "nvidia", 48 * gi},
		{"P100", "nvidia", 16 * gi}, {"G2", "nvidia", 16 * gi}, {"G3", "nvidia", 16 * gi},
		{"MI250", "amd", 64 * gi}, {"MI300X", "amd", 192 * gi}, {"Ascend910", "ascend", 32 * gi},
	}
	for _, want := range types {
		got, ok := c.Type(want.name)
		if !ok {
			t.Errorf("no type %s", want.name)
			continue
		}
		if got.Name != want.name || got.Vendor != want.vendor || got.MemoryMiB != want.memMiB {
			t.Errorf("type %s = %+v, want vendor %s and %d MiB", want.name, got, want.vendor, want.memMiB)
		}
	}
	// The trace's model names (openb_node_list_gpu_node.csv) and gpu_spec.
	for alias, want := range map[string]string{
		"G2": "G2", "G3": "G3", "P100": "P100", "T4": "T4", "A10": "A10",
		"V100M16": "V100-16GB", "V100M32": "V100", "v100m16": "V100-16GB", "A100M40": "A100-40GB",
	} {
		if got, ok := c.Type(alias); !ok || got.Name != want {
			t.Errorf("Type(%q) = %v, %v; want %s", alias, got, ok, want)
		}
	}
	wantVendors := []Vendor{
		{Name: "nvidia", Resource: "nvidia.com/gpu", Default: true},
		{Name: "amd", Resource: "amd.com/gpu"},
		{Name: "ascend", Resource: "huawei.com/Ascend910"},
	}
	if !reflect.DeepEqual(c.Vendors, wantVendors) {
		t.Errorf("vendors %+v", c.Vendors)
	}
	if d := c.DefaultVendor(); d.Name != "nvidia" {
		t.Errorf("default vendor %s", d.Name)
	}
	if c.VGPU != (VGPU{CoreResource: "tencent.com/vcuda-core", CoresPerCard: 100, MemoryResource: "tencent.com/vcuda-memory", MemoryUnitMiB: 256}) {
		t.Errorf("vgpu %+v", c.VGPU)
	}
	if c.Labels != (Labels{GPU: "gpu", GPUType: "gpu-type", VGPU: "vgpu"}) {
		t.Errorf("labels %+v", c.Labels)
	}
	if !reflect.DeepEqual(c.Roles, []string{"train", "service", "notebook"}) {
		t.Errorf("roles %v", c.Roles)
	}
	if !reflect.DeepEqual(c.Tolerations, []Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}) {
		t.Errorf("tolerations %+v", c.Tolerations)
	}
	// Every nvidia type named after a product has a pattern for the node
	// agent; only the trace's undisclosed models have none.
	for _, ty := range c.Types {
		if len(ty.Products) == 0 && ty.Name != "G2" && ty.Name != "G3" {
			t.Errorf("type %s has no product pattern", ty.Name)
		}
	}
}

func TestDefaultIsAFreshCopy(t *testing.T) {
	a := Default()
	a.Types[0].Name = "changed"
	a.Roles[0] = "changed"
	b := Default()
	if b.Types[0].Name == "changed" || b.Roles[0] == "changed" {
		t.Fatal("Default() shares state between calls")
	}
}

func TestLookups(t *testing.T) {
	c := Default()
	if ty, ok := c.Type(" h100 "); !ok || ty.Name != "H100" {
		t.Errorf("Type(h100) = %v, %v", ty, ok)
	}
	if _, ok := c.Type("X999"); ok {
		t.Error("Type(X999) found something")
	}
	if _, ok := c.Type(strings.Repeat("A", 100)); ok {
		t.Error("a long name found something")
	}
	if v, ok := c.Vendor("AMD"); !ok || v.Resource != "amd.com/gpu" {
		t.Errorf("Vendor(AMD) = %v, %v", v, ok)
	}
	if _, ok := c.Vendor("intel"); ok {
		t.Error("Vendor(intel) found something")
	}
	mi, _ := c.Type("MI250")
	if v := c.VendorOf(mi); v == nil || v.Name != "amd" {
		t.Errorf("VendorOf(MI250) = %v", v)
	}
	names := c.TypeNames()
	if want := strings.Split(allTypes, ", "); !reflect.DeepEqual(names, want) {
		t.Errorf("TypeNames() = %v", names)
	}
	names[0] = "changed"
	if c.TypeNames()[0] != "A10" {
		t.Error("TypeNames shares its slice")
	}
	if got := c.VendorNames(); !reflect.DeepEqual(got, []string{"amd", "ascend", "nvidia"}) {
		t.Errorf("VendorNames() = %v", got)
	}
}

func TestNew(t *testing.T) {
	spec := Catalog{
		Vendors: []Vendor{{Name: "nvidia", Resource: "nvidia.com/gpu", Default: true}},
		Types:   []Type{{Name: "T4", MemoryMiB: 16384, Aliases: []string{"tesla-t4"}}},
	}
	c, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Types[0].Aliases[0] = "changed"
	spec.Vendors[0].Name = "changed"
	if _, ok := c.Type("tesla-t4"); !ok {
		t.Error("New did not copy its input")
	}
	if c.Types[0].Vendor != "nvidia" || c.Labels.GPU != "gpu" || c.VGPU.CoresPerCard != 100 || len(c.Roles) != 3 {
		t.Errorf("defaults not applied: %+v", c)
	}

	_, err = New(Catalog{Types: []Type{{Name: "T4"}, {Name: "T4", MemoryMiB: 1}}})
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("New of an invalid catalog: %v", err)
	}
	want := []FieldError{
		{Field: "types[0].memory", Msg: "the memory of one card is needed, e.g. 16Gi"},
		{Field: "types[1].name", Msg: `"T4" is already the name of type T4`},
	}
	if !reflect.DeepEqual(le.Errs, want) {
		t.Errorf("errors %+v, want %+v", le.Errs, want)
	}
}

func TestVendorsOnlyGetTheirBuiltinTypes(t *testing.T) {
	c, err := Load(strings.NewReader(header + "vendors:\n  - name: nvidia\n    resource: nvidia.com/gpu\n    default: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ty := range c.Types {
		if ty.Vendor != "nvidia" {
			t.Errorf("type %s of vendor %s kept without its vendor", ty.Name, ty.Vendor)
		}
	}
	if !slices.Contains(c.TypeNames(), "H200") {
		t.Error("the built-in nvidia types are missing")
	}
}
