package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const header = "apiVersion: gpuplane.io/v1alpha1\nkind: GPUCatalog\n"

func TestLoadDefaultYAML(t *testing.T) {
	c, err := Load(bytes.NewReader(DefaultYAML()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatal("loading default.yaml through Load differs from Default()")
	}
}

func TestLoadTakesAbsentSectionsFromTheDefault(t *testing.T) {
	c, err := Load(strings.NewReader(header))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatal("a file with only apiVersion and kind should be the default catalog")
	}

	c, err = Load(strings.NewReader(header + `
types:
  - name: RTX4090
    memory: 24Gi
    aliases: [4090x]
roles: []
tolerations: []
vgpu:
  coresPerCard: 1000
labels:
  gpuType: example.com/gpu-model
`))
	if err == nil {
		t.Fatal("alias 4090x starts with a digit and should be refused")
	}
	c, err = Load(strings.NewReader(header + `
types:
  - name: RTX4090
    memory: 24Gi
    aliases: [rtx-4090]
roles: []
tolerations: []
vgpu:
  coresPerCard: 1000
labels:
  gpuType: example.com/gpu-model
`))
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	if !reflect.DeepEqual(c.Vendors, def.Vendors) {
		t.Errorf("vendors %+v, want the default's", c.Vendors)
	}
	if len(c.Types) != 1 || c.Types[0].Vendor != "nvidia" || c.Types[0].MemoryMiB != 24*1024 {
		t.Errorf("types %+v: want one nvidia type of 24Gi", c.Types)
	}
	if c.Roles == nil || len(c.Roles) != 0 || c.Tolerations == nil || len(c.Tolerations) != 0 {
		t.Errorf("empty roles %#v and tolerations %#v should stay empty", c.Roles, c.Tolerations)
	}
	want := VGPU{CoreResource: "tencent.com/vcuda-core", CoresPerCard: 1000, MemoryResource: "tencent.com/vcuda-memory", MemoryUnitMiB: 256}
	if c.VGPU != want {
		t.Errorf("vgpu %+v, want %+v", c.VGPU, want)
	}
	if c.Labels != (Labels{GPU: "gpu", GPUType: "example.com/gpu-model", VGPU: "vgpu"}) {
		t.Errorf("labels %+v", c.Labels)
	}
	r, err := c.ParseResolve("0.5(rtx-4090)")
	if err != nil {
		t.Fatal(err)
	}
	if r.Cores != 500 || r.MemoryMiB != 12*1024 || r.Required[1].Key != "example.com/gpu-model" || r.Tolerations != nil {
		t.Errorf("resolved with the custom catalog: %+v", r)
	}
}

// TestLoadRefused checks that every problem is reported, on its line.
func TestLoadRefused(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{
			"the catalog is empty; it needs at least apiVersion: gpuplane.io/v1alpha1 and kind: GPUCatalog"}},
		{"no version", "roles: [train]\n", []string{
			`line 1: apiVersion: "": this program reads apiVersion gpuplane.io/v1alpha1`,
			`line 1: kind: "": a catalog has kind GPUCatalog`}},
		{"other version", "apiVersion: gpuplane.io/v2\nkind: Other\n", []string{
			`line 1: apiVersion: "gpuplane.io/v2": this program reads apiVersion gpuplane.io/v1alpha1`,
			`line 2: kind: "Other": a catalog has kind GPUCatalog`}},
		{"unknown top-level field", header + "colour: blue\n", []string{
			`line 3: colour: unknown field "colour"; known: apiVersion, kind, vendors, types, vgpu, labels, roles, tolerations`}},
		{"unknown field in a type", header + "types:\n  - name: T4\n    memory: 16Gi\n    mem: 16Gi\n", []string{
			`line 6: types[0].mem: unknown field "mem"; known: name, vendor, memory, aliases, products`}},
		{"repeated field", header + "types:\n  - name: T4\n    memory: 16Gi\n    name: T5\n", []string{
			`line 6: types[0].name: field "name" is repeated (first at line 4)`}},
		{"repeated section", header + "roles: [a]\nroles: [b]\n", []string{
			`line 4: roles: field "roles" is repeated (first at line 3)`}},
		{"list where a mapping goes", header + "vgpu: [a, b]\n", []string{
			`line 3: vgpu: vgpu must be a mapping of fields, not a list`}},
		{"value where a list goes", header + "types: T4\n", []string{
			`line 3: types: types must be a list, not a single value`}},
		{"document is a list", "- a\n- b\n", []string{
			`line 1: the catalog must be a mapping of fields, not a list`}},
		{"two documents", header + "---\n" + header, []string{
			`line 3: a catalog is a single YAML document; remove the "---" and what follows`}},
		{"bad YAML", header + "types: [\n", []string{
			`did not find expected node content`}},
		{"wrong scalar type", header + "vgpu:\n  coresPerCard: many\n", []string{
			"line 4: cannot unmarshal !!str `many` into int"}},
		{"duplicate type", header + "types:\n  - name: T4\n    memory: 16Gi\n  - name: t4\n    memory: 16Gi\n", []string{
			`line 6: types[1].name: "t4" is already the name of type T4`}},
		{"duplicate alias", header + "types:\n  - name: T4\n    memory: 16Gi\n    aliases: [X1]\n  - name: T5\n    memory: 16Gi\n    aliases: [x1]\n", []string{
			`line 9: types[1].aliases[0]: "x1" is already an alias of type T4`}},
		{"alias equal to a type name", header + "types:\n  - name: T4\n    memory: 16Gi\n  - name: T5\n    memory: 16Gi\n    aliases: [T4]\n", []string{
			`line 8: types[1].aliases[0]: "T4" is already the name of type T4`}},
		{"type named like a vendor", header + "types:\n  - name: amd\n    memory: 16Gi\n", []string{
			`line 4: types[0].name: "amd" is already vendor amd`}},
		{"type named VGPU", header + "types:\n  - name: vgpu\n    memory: 16Gi\n", []string{
			`line 4: types[0].name: "vgpu": VGPU is a keyword, not a name; a name is like V100, A100-40GB or V100M16`}},
		{"type name with a space", header + "types:\n  - name: Tesla T4\n    memory: 16Gi\n", []string{
			`line 4: types[0].name: "Tesla T4": names hold only letters, digits, '-', '_' and '.'; a name is like V100, A100-40GB or V100M16`}},
		{"unknown vendor of a type", header + "types:\n  - name: T4\n    memory: 16Gi\n  - name: X1\n    vendor: intel\n    memory: 16Gi\n", []string{
			`line 7: types[1].vendor: "intel" is not a vendor of this catalog; vendors: nvidia, amd, ascend`}},
		{"memory missing", header + "types:\n  - name: T4\n", []string{
			`line 4: types[0].memory: the memory of one card is needed, e.g. 16Gi`}},
		{"memory in GB", header + "types:\n  - name: T4\n    memory: 16GB\n", []string{
			`line 5: types[0].memory: "16GB": memory "16GB" uses unit "GB"; write 16Gi: units are Ki, Mi, Gi and Ti (powers of 1024)`}},
		{"memory without unit", header + "types:\n  - name: T4\n    memory: 16384\n", []string{
			`line 5: types[0].memory: "16384": memory "16384" has no unit; write 16384Gi or 16384Mi: units are Ki, Mi, Gi and Ti`}},
		{"default vendor without types", header + "types:\n  - name: MI250\n    vendor: amd\n    memory: 64Gi\n", []string{
			`line 3: types: the default vendor nvidia has no type; at least one is needed to size vGPU memory for requests that name no type`}},
		{"duplicate product pattern", header + "types:\n  - name: T4\n    memory: 16Gi\n    products: [\"Tesla T4\"]\n  - name: T5\n    memory: 16Gi\n    products: [\"tesla t4\"]\n", []string{
			`line 9: types[1].products[0]: pattern "tesla t4" is already a pattern of type T4`}},
		{"pattern matching everything", header + "types:\n  - name: T4\n    memory: 16Gi\n    products: [\"*\"]\n", []string{
			`line 6: types[0].products[0]: "*": a pattern of wildcards alone would match every card; include the product name, e.g. Tesla T4*`}},
		{"no default vendor", header + "vendors:\n  - name: nvidia\n    resource: nvidia.com/gpu\n", []string{
			`line 3: vendors: exactly one vendor must be the default (default: true), not 0`}},
		{"two default vendors", header + "vendors:\n  - name: nvidia\n    resource: nvidia.com/gpu\n    default: true\n  - name: amd\n    resource: amd.com/gpu\n    default: true\n", []string{
			`line 3: vendors: exactly one vendor must be the default (default: true), not 2`}},
		{"no vendors", header + "vendors: []\n", []string{
			`line 3: vendors: at least one vendor is needed, e.g. nvidia with resource nvidia.com/gpu`}},
		{"bad resource names", header + "vendors:\n  - name: nvidia\n    resource: gpu\n    default: true\n  - name: amd\n    resource: kubernetes.io/gpu\n", []string{
			`line 5: vendors[0].resource: "gpu": not an extended resource name (like example.com/gpu): must include a prefix (e.g. 'example.com/key')`,
			`line 8: vendors[1].resource: "kubernetes.io/gpu": extended resources may not use the kubernetes.io domain nor start with requests.`}},
		{"vendor on the gpu label", header + "vendors:\n  - name: nvidia\n    resource: nvidia.com/gpu\n    default: true\n  - name: amd\n    resource: amd.com/gpu\n    label: gpu\n", []string{
			`line 9: vendors[1].label: label "gpu" of vendor amd is already labels.gpu; each vendor's nodes need a label of their own, e.g. amd`}},
		{"vendor labels", header + "vendors:\n  - name: nvidia\n    resource: nvidia.com/gpu\n    default: true\n  - name: amd\n    resource: amd.com/gpu\n    label: vgpu\n  - name: intel\n    resource: intel.com/gpu\n    label: \"bad key!\"\nroles: [intel-x, Intel]\n", []string{
			`line 9: vendors[1].label: label "vgpu" of vendor amd is already labels.vgpu; each vendor's nodes need a label of their own, e.g. amd`,
			`line 12: vendors[2].label: "bad key!": not a label key:`}},
		{"role on a vendor's label", header + "roles: [amd]\n", []string{
			`line 3: roles[0]: role "amd" is already the label key of the label of vendor amd`}},
		{"vendor tolerations", header + "vendors:\n  - name: nvidia\n    resource: nvidia.com/gpu\n    default: true\n    tolerations:\n      - key: a\n        operator: In\n", []string{
			`line 9: vendors[0].tolerations[0].operator: "In": must be Exists or Equal`}},
		{"resource used twice", header + "vgpu:\n  coreResource: nvidia.com/gpu\n", []string{
			`line 4: vgpu.coreResource: resource "nvidia.com/gpu" is already the resource of vendor nvidia`}},
		{"cores not hundreds", header + "vgpu:\n  coresPerCard: 50\n", []string{
			`line 4: vgpu.coresPerCard: 50: must be a positive multiple of 100 (at most 100000), so that every hundredth of a card is whole cores`}},
		{"memory unit not whole MiB", header + "vgpu:\n  memoryUnit: 100Ki\n", []string{
			`line 4: vgpu.memoryUnit: "100Ki": memory "100Ki" is not a whole number of Mi; memory is counted in whole Mi: write 1Mi`}},
		{"label keys", header + "labels:\n  gpu: vgpu\n  gpuType: \"bad key!\"\n", []string{
			`line 5: labels.gpuType: "bad key!": not a label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`line 3: labels.vgpu: label "vgpu" is already labels.gpu`}},
		{"roles", header + "roles: [train, Train, gpu, \"not/a/key\"]\n", []string{
			`line 3: roles[1]: role "Train" is listed twice`,
			`line 3: roles[2]: role "gpu" is already the label key of labels.gpu`,
			`line 3: roles[3]: "not/a/key": not a label key: `}},
		{"tolerations", header + "tolerations:\n  - key: a\n    operator: Exists\n    value: x\n  - operator: Equal\n    effect: Sometimes\n  - key: b\n    operator: In\n", []string{
			`line 6: tolerations[0].value: "x": must be empty with operator Exists`,
			`line 7: tolerations[1].key: an empty key needs operator Exists`,
			`line 8: tolerations[1].effect: "Sometimes": must be NoSchedule, PreferNoSchedule, NoExecute, or empty for all`,
			`line 10: tolerations[2].operator: "In": must be Exists or Equal`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(strings.NewReader(tc.yaml))
			if err == nil {
				t.Fatalf("Load accepted:\n%s", tc.yaml)
			}
			if c != nil {
				t.Error("Load returned a catalog alongside the error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not *LoadError", err)
			}
			var got []string
			for _, fe := range le.Errs {
				got = append(got, fe.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLoadErrorMessage(t *testing.T) {
	_, err := Load(strings.NewReader(header + "colour: blue\nroles: {a: b}\n"))
	want := "invalid GPU catalog:\n" +
		`  line 3: colour: unknown field "colour"; known: apiVersion, kind, vendors, types, vgpu, labels, roles, tolerations, pools` + "\n" +
		`  line 4: roles: roles must be a list, not a mapping of fields`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, err = Load(strings.NewReader(header + "roles: [gpu]\n"))
	want = `invalid GPU catalog: line 3: roles[0]: role "gpu" is already the label key of labels.gpu`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestLoadTooLarge(t *testing.T) {
	big := header + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	_, err := Load(strings.NewReader(big))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load of %d bytes: %v", len(big), err)
	}
}

func TestLoadFile(t *testing.T) {
	c, err := LoadFile("")
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf(`LoadFile("") = %v; want the default catalog`, err)
	}
	dir := t.TempDir()
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadFile of a missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(header+"roles: [gpu]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	var le *LoadError
	if !errors.As(err, &le) || le.Source != bad || !strings.Contains(err.Error(), `"`+bad+`": line 3:`) {
		t.Fatalf("LoadFile of a bad file: %v", err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadFile(good); err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf("LoadFile of the default file: %v", err)
	}
}

func TestWriteYAMLRoundTrip(t *testing.T) {
	custom, err := Load(strings.NewReader(header + "types:\n  - name: X1\n    memory: 1536Mi\n    products: [\"X 1*\"]\nroles: []\ntolerations: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Catalog{"default": Default(), "custom": custom} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.WriteYAML(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := Load(&buf)
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("written and loaded back differs:\n%s", buf.String())
			}
		})
	}
}

func TestLoadRefusesAliasBombs(t *testing.T) {
	// 3000 types, each with the same 3000 aliases: a 30 KB file that
	// expands to nine million values.
	const n = 3000
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("x: &s A\nl: &l [")
	b.WriteString(strings.Repeat("*s, ", n-1) + "*s]\n")
	b.WriteString("m: &m {name: T, memory: 1Gi, aliases: *l}\ntypes: [")
	b.WriteString(strings.Repeat("*m, ", n-1) + "*m]\n")
	_, err := Load(strings.NewReader(b.String()))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("Load of an alias bomb: %v", err)
	}
}

func TestLoadListsAtMostSoManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 2 * maxErrors {
		fmt.Fprintf(&b, "colour%d: blue\n", i)
	}
	_, err := Load(strings.NewReader(b.String()))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Errs) != maxErrors+1 {
		t.Fatalf("Load of %d unknown fields: %v", 2*maxErrors, err)
	}
	if last := le.Errs[maxErrors].Msg; last != "and 50 more problems; fix these first" {
		t.Errorf("last problem %q", last)
	}
	if first := le.Errs[0].String(); !strings.HasPrefix(first, `line 3: colour0: unknown field "colour0"`) {
		t.Errorf("first problem %q", first)
	}
}
