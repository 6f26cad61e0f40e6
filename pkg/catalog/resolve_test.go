package catalog

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// Builders for expected values of the default catalog.
func in(key string, values ...string) Requirement {
	return Requirement{Key: key, Operator: "In", Values: values}
}

func pref(w int32, typ string) Preference {
	return Preference{Weight: w, Requirement: in("gpu-type", typ)}
}

// The built-in catalog's type names, as messages list them.
const (
	allTypes    = "A10, A100, A100-40GB, A16, A2, A30, A40, A800, A800-40GB, Ascend910, B100, B200, G2, G3, GB200, GH200, GH200-96GB, H100, H20, H200, H800, L2, L20, L4, L40, L40S, MI250, MI300X, P100, P100-12GB, P4, P40, RTX-3090, RTX-4090, RTX-4090D, RTX-5000-Ada, RTX-6000-Ada, RTX-A4000, RTX-A5000, RTX-A6000, RTX-PRO-6000, T4, V100, V100-16GB"
	nvidiaTypes = "A10, A100, A100-40GB, A16, A2, A30, A40, A800, A800-40GB, B100, B200, G2, G3, GB200, GH200, GH200-96GB, H100, H20, H200, H800, L2, L20, L4, L40, L40S, P100, P100-12GB, P4, P40, RTX-3090, RTX-4090, RTX-4090D, RTX-5000-Ada, RTX-6000-Ada, RTX-A4000, RTX-A5000, RTX-A6000, RTX-PRO-6000, T4, V100, V100-16GB"
)

// tolerations of each vendor's pods in the built-in catalog.
func tolerationsOf(vendor string) []Toleration {
	resource := map[string]string{"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "ascend": "huawei.com/Ascend910"}[vendor]
	return []Toleration{{Key: resource, Operator: "Exists", Effect: "NoSchedule"}}
}

var gpuTol = tolerationsOf("nvidia")

func whole(t *testing.T, c *Catalog, vendor string, n int, types ...string) Resolved {
	t.Helper()
	v, ok := c.Vendor(vendor)
	if !ok {
		t.Fatalf("no vendor %s", vendor)
	}
	label := map[string]string{"nvidia": "gpu", "amd": "amd", "ascend": "ascend"}[vendor]
	r := Resolved{Kind: KindWhole, Count: n, Vendor: v, Resources: []Amount{{v.Resource, int64(n)}},
		Required: []Requirement{in(label, "true")}, Tolerations: tolerationsOf(vendor)}
	if len(types) > 0 {
		r.Types = types
		r.Required = append(r.Required, in("gpu-type", types...))
	}
	return r
}

func vgpu(t *testing.T, c *Catalog, kind Kind, n, hundredths, cores int, memMiB int64, given bool, types ...string) Resolved {
	t.Helper()
	r := Resolved{Kind: kind, Count: n, Hundredths: hundredths, Cores: cores, MemoryMiB: memMiB, MemoryGiven: given,
		Pool: DefaultPool, Sharing: SharingGPUManager,
		Vendor:    c.DefaultVendor(),
		Resources: []Amount{{"tencent.com/vcuda-core", int64(n * cores)}},
		Required:  []Requirement{in("vgpu", "true")}, Tolerations: gpuTol}
	if memMiB > 0 {
		r.Resources = append(r.Resources, Amount{"tencent.com/vcuda-memory", int64(n) * memMiB / 256})
	}
	if len(types) > 0 {
		r.Types = types
		r.Required = append(r.Required, in("gpu-type", types...))
	}
	return r
}

func (r Resolved) withPreferred(p ...Preference) Resolved {
	r.Preferred = p
	return r
}

func TestResolve(t *testing.T) {
	c := Default()
	cases := []struct {
		name  string
		in    string
		want  Resolved
		canon string
	}{
		// N
		{"any card", "2", whole(t, c, "nvidia", 2), "2"},
		{"default vendor named", "2(nvidia)", whole(t, c, "nvidia", 2), "2"},
		{"most cards", "64", whole(t, c, "nvidia", 64), "64"},
		// N(TYPE)
		{"type", "2(V100)", whole(t, c, "nvidia", 2, "V100"), "2(V100)"},
		{"type lower case", "1(t4)", whole(t, c, "nvidia", 1, "T4"), "1(T4)"},
		{"smaller model by name", "1(V100-16GB)", whole(t, c, "nvidia", 1, "V100-16GB"), "1(V100-16GB)"},
		{"alias", "1(a100m40)", whole(t, c, "nvidia", 1, "A100-40GB"), "1(A100-40GB)"},
		{"default vendor scope", "1(nvidia,T4)", whole(t, c, "nvidia", 1, "T4"), "1(T4)"},
		// the Alibaba trace's model names
		{"trace G2", "1(G2)", whole(t, c, "nvidia", 1, "G2"), "1(G2)"},
		{"trace G3", "1(G3)", whole(t, c, "nvidia", 1, "G3"), "1(G3)"},
		{"trace P100", "1(P100)", whole(t, c, "nvidia", 1, "P100"), "1(P100)"},
		{"trace T4", "1(T4)", whole(t, c, "nvidia", 1, "T4"), "1(T4)"},
		{"trace A10", "1(A10)", whole(t, c, "nvidia", 1, "A10"), "1(A10)"},
		{"trace V100M32", "1(V100M32)", whole(t, c, "nvidia", 1, "V100"), "1(V100)"},
		{"trace V100M16", "1(V100M16)", whole(t, c, "nvidia", 1, "V100-16GB"), "1(V100-16GB)"},
		{"trace gpu_spec", "1(V100M16|V100M32)", whole(t, c, "nvidia", 1, "V100-16GB", "V100").
			withPreferred(pref(100, "V100-16GB"), pref(50, "V100")), "1(V100-16GB|V100)"},
		// N(T1|T2)
		{"two alternatives", "2(V100|A100)", whole(t, c, "nvidia", 2, "V100", "A100").
			withPreferred(pref(100, "V100"), pref(50, "A100")), "2(V100|A100)"},
		{"three alternatives", "3(T4|V100|A100)", whole(t, c, "nvidia", 3, "T4", "V100", "A100").
			withPreferred(pref(100, "T4"), pref(67, "V100"), pref(34, "A100")), "3(T4|V100|A100)"},
		{"five alternatives spill past the inline storage", "1(T4|V100|A100|H100|H200)",
			whole(t, c, "nvidia", 1, "T4", "V100", "A100", "H100", "H200").
				withPreferred(pref(100, "T4"), pref(80, "V100"), pref(60, "A100"), pref(40, "H100"), pref(20, "H200")),
			"1(T4|V100|A100|H100|H200)"},
		// N(VGPU): whole cards, cores and memory: no memory resource is
		// asked, the extender books all of the memory of the card it picks
		{"vgpu card", "1(VGPU)", vgpu(t, c, KindVGPU, 1, 0, 100, 0, false), "1(VGPU)"},
		{"vgpu cards", "3(vgpu)", vgpu(t, c, KindVGPU, 3, 0, 100, 0, false), "3(VGPU)"},
		{"vgpu cards of a type", "2(VGPU,H200)", vgpu(t, c, KindVGPU, 2, 0, 100, 0, false, "H200"), "2(VGPU,H200)"},
		{"vgpu cards with memory", "2(VGPU,8Gi)", vgpu(t, c, KindVGPU, 2, 0, 100, 8192, true), "2(VGPU,8Gi)"},
		{"vgpu cards of alternatives", "1(VGPU,A100|T4)",
			vgpu(t, c, KindVGPU, 1, 0, 100, 0, false, "A100", "T4").withPreferred(pref(100, "A100"), pref(50, "T4")),
			"1(VGPU,A100|T4)"},
		// F, F(TYPE), F(VGPU): with no type, the share of the smallest
		// default-vendor card (a P4, 8Gi)
		{"half a card", "0.5", vgpu(t, c, KindShare, 1, 50, 50, 4096, false), "0.5"},
		{"half a card through vgpu", "0.5(VGPU)", vgpu(t, c, KindShare, 1, 50, 50, 4096, false), "0.5"},
		{"half a T4", "0.5(T4)", vgpu(t, c, KindShare, 1, 50, 50, 8192, false, "T4"), "0.5(T4)"},
		{"a third of a V100 rounds memory down to the unit", "0.33(V100)",
			vgpu(t, c, KindShare, 1, 33, 33, 42*256, false, "V100"), "0.33(V100)"},
		{"a tiny share gets one memory unit", "0.01(T4)", vgpu(t, c, KindShare, 1, 1, 1, 256, false, "T4"), "0.01(T4)"},
		{"share of an H200", "0.25(H200)", vgpu(t, c, KindShare, 1, 25, 25, 141*256, false, "H200"), "0.25(H200)"},
		// …(TYPE,8Gi) / F(8Gi)
		{"share with memory", "0.5(T4,8Gi)", vgpu(t, c, KindShare, 1, 50, 50, 8192, true, "T4"), "0.5(T4,8Gi)"},
		{"share with all the card's memory", "0.1(T4,16Gi)", vgpu(t, c, KindShare, 1, 10, 10, 16384, true, "T4"), "0.1(T4,16Gi)"},
		{"share with memory only", "0.5(8Gi)", vgpu(t, c, KindShare, 1, 50, 50, 8192, true), "0.5(8Gi)"},
		{"untyped share up to the largest card", "0.5(192Gi)", vgpu(t, c, KindShare, 1, 50, 50, 192*1024, true), "0.5(192Gi)"},
		{"memory in Mi", "0.5(T4,1536Mi)", vgpu(t, c, KindShare, 1, 50, 50, 1536, true, "T4"), "0.5(T4,1536Mi)"},
		// N(VENDOR), N(VENDOR,TYPE)
		{"vendor alone", "1(ascend)", whole(t, c, "ascend", 1), "1(ascend)"},
		{"vendor upper case", "1(ASCEND)", whole(t, c, "ascend", 1), "1(ascend)"},
		{"vendor and type", "2(amd,MI250)", whole(t, c, "amd", 2, "MI250"), "2(amd,MI250)"},
		{"vendor and alternatives", "2(amd,MI300X|MI250)", whole(t, c, "amd", 2, "MI300X", "MI250").
			withPreferred(pref(100, "MI300X"), pref(50, "MI250")), "2(amd,MI300X|MI250)"},
		{"type of another vendor without the vendor", "2(MI250)", whole(t, c, "amd", 2, "MI250"), "2(amd,MI250)"},
		{"ascend type", "4(Ascend910)", whole(t, c, "ascend", 4, "Ascend910"), "4(ascend,Ascend910)"},
		// 0
		{"no gpu", "0", Resolved{Kind: KindNone, Env: map[string]string{"NVIDIA_VISIBLE_DEVICES": "none"}}, "0"},
		// normalisation reaches the canonical form
		{"full width and spaces", " 2（ v100 ｜ a100 ） ", whole(t, c, "nvidia", 2, "V100", "A100").
			withPreferred(pref(100, "V100"), pref(50, "A100")), "2(V100|A100)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ParseResolve(tc.in)
			if err != nil {
				t.Fatalf("ParseResolve(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseResolve(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
			canon := got.String()
			if canon != tc.canon {
				t.Errorf("String() = %q, want %q", canon, tc.canon)
			}
			again, err := c.ParseResolve(canon)
			if err != nil {
				t.Fatalf("the canonical form %q is refused: %v", canon, err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("resolving the canonical form %q differs:\n got %+v\nwant %+v", canon, again, got)
			}
		})
	}
}

func TestResolveRefused(t *testing.T) {
	c := Default()
	cases := []struct {
		name  string
		in    string
		class error
		part  string
		msg   string
	}{
		{"unknown type", "2(X999)", ErrUnknownName, "X999",
			`"2(X999)": unknown type "X999"; known types: ` + allTypes + `; vendors: amd, ascend, nvidia`},
		{"unknown alternative", "2(V100|X999)", ErrUnknownName, "X999",
			`"2(V100|X999)": unknown type "X999"; known types: ` + allTypes + `; vendors: amd, ascend, nvidia`},
		{"unknown vendor", "2(foo,T4)", ErrUnknownName, "foo",
			`"2(foo,T4)": unknown vendor "foo"; vendors: amd, ascend, nvidia`},
		{"memory larger than the card", "0.5(T4,1Ti)", ErrMemory, "1Ti",
			`"0.5(T4,1Ti)": memory 1Ti is more than a T4 has (16Gi); ask for at most 16Gi, or leave the memory out for the share's proportion of the card`},
		{"memory larger than the smallest alternative", "0.5(A100|T4,20Gi)", ErrMemory, "20Gi",
			`"0.5(A100|T4,20Gi)": memory 20Gi is more than a T4 has (16Gi); ask for at most 16Gi, or leave the memory out for the share's proportion of the card`},
		{"memory larger than any card", "0.5(193Gi)", ErrMemory, "193Gi",
			`"0.5(193Gi)": memory 193Gi is more than any nvidia card has (the largest, 192Gi); ask for at most 192Gi`},
		{"vgpu card memory larger than the card", "1(VGPU,T4,32Gi)", ErrMemory, "32Gi",
			`"1(VGPU,T4,32Gi)": memory 32Gi is more than a T4 has (16Gi); ask for at most 16Gi, or leave the memory out for all of the card's`},
		{"memory not a whole unit", "0.5(T4,1000Mi)", ErrMemory, "1000Mi",
			`"0.5(T4,1000Mi)": memory 1000Mi is not a whole number of 256Mi units; vGPU memory is counted in units of 256Mi: write 768Mi or 1Gi`},
		{"memory below one unit", "0.5(100Mi)", ErrMemory, "100Mi",
			`"0.5(100Mi)": memory 100Mi is not a whole number of 256Mi units; vGPU memory is counted in units of 256Mi: write 256Mi`},
		{"type of another vendor than the scope", "2(amd,V100)", ErrVendor, "V100",
			`"2(amd,V100)": "V100" is a type of vendor nvidia, not amd; amd types: MI250, MI300X`},
		{"alternatives of two vendors", "2(V100|MI250)", ErrVendor, "MI250",
			`"2(V100|MI250)": "MI250" is a type of vendor amd but "V100" of nvidia: alternatives must be types of one vendor; nvidia types: ` + nvidiaTypes + `; amd types: MI250, MI300X`},
		{"type where the vendor goes", "2(V100,A100)", ErrVendor, "V100",
			`"2(V100,A100)": "V100" is a type, not a vendor; write 2(V100|A100) for any of these types; a vendor comes first, as in 2(amd,MI250)`},
		{"vendor as an alternative", "2(amd|V100)", ErrVendor, "amd",
			`"2(amd|V100)": "amd" is a vendor, not a type; write 2(amd) for any amd card, or name amd types: MI250, MI300X`},
		{"vendor where a type goes", "2(amd,nvidia)", ErrVendor, "nvidia",
			`"2(amd,nvidia)": "nvidia" is a vendor, not a type; amd types: MI250, MI300X`},
		{"vgpu of another vendor", "1(amd,VGPU)", ErrNoVGPU, "",
			`"1(amd,VGPU)": vGPU (a share or VGPU cards) is offered for nvidia cards only, not amd; ask for whole amd cards, such as 1(amd)`},
		{"share of another vendor's type", "0.5(MI250)", ErrNoVGPU, "",
			`"0.5(MI250)": vGPU (a share or VGPU cards) is offered for nvidia cards only, not amd; ask for whole amd cards, such as 1(amd,MI250)`},
		{"share of another vendor", "0.5(ascend)", ErrNoVGPU, "",
			`"0.5(ascend)": vGPU (a share or VGPU cards) is offered for nvidia cards only, not ascend; ask for whole ascend cards, such as 1(ascend)`},
		{"type named twice through an alias", "2(V100|V100M32)", gpuspec.ErrConflict, "V100M32",
			`"2(V100|V100M32)": "V100M32" is V100, already named; name each type once`},
		{"syntax errors come from the parser", "1.5", gpuspec.ErrRange, "1.5",
			`"1.5": fractions must be below 1; ask for 2 cards or 0.5`},
		{"written input is quoted as written", "2 ( x999 )", ErrUnknownName, "x999",
			`"2 ( x999 )": unknown type "x999"; known types: ` + allTypes + `; vendors: amd, ascend, nvidia`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ParseResolve(tc.in)
			if err == nil {
				t.Fatalf("ParseResolve(%q) = %+v, want an error", tc.in, got)
			}
			if !errors.Is(err, tc.class) {
				t.Errorf("class: %v, want %v", err, tc.class)
			}
			var e *gpuspec.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *gpuspec.Error", err)
			}
			if e.Input != tc.in || e.Part != tc.part {
				t.Errorf("input %q part %q, want %q %q", e.Input, e.Part, tc.in, tc.part)
			}
			if tc.part != "" && !strings.HasPrefix(tc.in[e.Offset:], tc.part) {
				t.Errorf("offset %d does not point at %q", e.Offset, tc.part)
			}
			if err.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", err.Error(), tc.msg)
			}
		})
	}
}

func TestResolveQuotesTheCanonicalRequest(t *testing.T) {
	c := Default()
	req, err := gpuspec.Parse(" 2 (x999)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve(req)
	var e *gpuspec.Error
	if !errors.As(err, &e) || e.Input != "2(x999)" || e.Offset != 2 || e.Part != "x999" {
		t.Fatalf("Resolve error %#v, want it to quote 2(x999) at 2", err)
	}
}

func TestResolveRefusesInvalidRequests(t *testing.T) {
	c := Default()
	_, err := c.Resolve(gpuspec.Request{Count: 65})
	if !errors.Is(err, gpuspec.ErrRange) {
		t.Fatalf("Resolve of 65 cards: %v, want gpuspec.ErrRange", err)
	}
}

// TestResolvedSlicesAreIndependent guards the shared backing store: what
// one caller appends or changes must not reach another result or the
// catalog.
func TestResolvedSlicesAreIndependent(t *testing.T) {
	c := Default()
	a, err := c.ParseResolve("2(V100|A100)")
	if err != nil {
		t.Fatal(err)
	}
	_ = append(a.Types, "X")
	_ = append(a.Required, Requirement{Key: "x"})
	_ = append(a.Required[1].Values, "X")
	_ = append(a.Tolerations, Toleration{Key: "x"})
	a.Tolerations[0].Key = "changed"
	a.Types[0] = "changed"
	if a.Required[1].Values[0] != "V100" || a.Preferred[0].Requirement.Values[0] != "V100" {
		t.Fatalf("changing Types changed the requirements: %+v %+v", a.Required, a.Preferred)
	}
	b, err := c.ParseResolve("2(V100|A100)")
	if err != nil {
		t.Fatal(err)
	}
	if b.Tolerations[0].Key != "nvidia.com/gpu" || c.Tolerations[0].Key != "nvidia.com/gpu" || b.Types[0] != "V100" {
		t.Fatalf("a change to one result reached another: %+v", b)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindNone: "none", KindWhole: "whole", KindVGPU: "vgpu", KindShare: "share", Kind(9): "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

// TestVendorsHaveTheirOwnNodesAndTaints checks that a request for another
// vendor's cards requires that vendor's node label and tolerates that
// vendor's taint, never the default vendor's, and that a catalog can set
// both per vendor.
func TestVendorsHaveTheirOwnNodesAndTaints(t *testing.T) {
	custom, err := Load(strings.NewReader(header + `
vendors:
  - name: nvidia
    resource: nvidia.com/gpu
    default: true
  - name: amd
    resource: amd.com/gpu
    label: example.com/amd-gpu
    tolerations:
      - key: example.com/accelerator
        operator: Equal
        value: amd
        effect: NoSchedule
  - name: ascend
    resource: huawei.com/Ascend910
    tolerations: []
tolerations:
  - key: example.com/gpu
    operator: Exists
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		c        *Catalog
		in       string
		required []Requirement
		tols     []Toleration
	}{
		{"built-in amd", Default(), "2(amd,MI250)", []Requirement{in("amd", "true"), in("gpu-type", "MI250")}, tolerationsOf("amd")},
		{"built-in ascend", Default(), "1(ascend)", []Requirement{in("ascend", "true")}, tolerationsOf("ascend")},
		{"built-in nvidia", Default(), "1(T4)", []Requirement{in("gpu", "true"), in("gpu-type", "T4")}, tolerationsOf("nvidia")},
		{"built-in vgpu", Default(), "1(VGPU)", []Requirement{in("vgpu", "true")}, tolerationsOf("nvidia")},
		{"custom label and tolerations", custom, "1(amd)", []Requirement{in("example.com/amd-gpu", "true")},
			[]Toleration{{Key: "example.com/accelerator", Operator: "Equal", Value: "amd", Effect: "NoSchedule"}}},
		{"custom empty tolerations", custom, "1(ascend)", []Requirement{in("ascend", "true")}, nil},
		{"default vendor takes the top-level tolerations", custom, "1", []Requirement{in("gpu", "true")},
			[]Toleration{{Key: "example.com/gpu", Operator: "Exists"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.ParseResolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Required, tc.required) {
				t.Errorf("required %+v, want %+v", got.Required, tc.required)
			}
			if !reflect.DeepEqual(got.Tolerations, tc.tols) {
				t.Errorf("tolerations %+v, want %+v", got.Tolerations, tc.tols)
			}
			if got.Vendor != nil && tc.c.VendorLabel(got.Vendor.Name) != got.Required[0].Key && got.Kind == KindWhole {
				t.Errorf("VendorLabel(%s) = %q, want %q", got.Vendor.Name, tc.c.VendorLabel(got.Vendor.Name), got.Required[0].Key)
			}
			if got.Vendor != nil && !reflect.DeepEqual(tc.c.VendorTolerations(got.Vendor.Name), tc.tols) && len(tc.tols) > 0 {
				t.Errorf("VendorTolerations(%s) = %+v, want %+v", got.Vendor.Name, tc.c.VendorTolerations(got.Vendor.Name), tc.tols)
			}
		})
	}
	if l := Default().VendorLabel("intel"); l != "" {
		t.Errorf("VendorLabel of an unknown vendor = %q", l)
	}
}

// TestHintsResolve checks that the requests a refusal proposes resolve with
// the built-in catalog: "1(H100,80Gi)" once proposed "0.5(T4,80Gi)", which
// is refused because a T4 has 16Gi.
func TestHintsResolve(t *testing.T) {
	c := Default()
	cases := []struct {
		in   string
		hint []string // the requests the message proposes
	}{
		{"1(H100,80Gi)", []string{"1(H100)", "1(VGPU,H100,80Gi)"}},
		{"2(V100,8Gi)", []string{"2(V100)", "2(VGPU,V100,8Gi)"}},
		{"1(amd,64Gi)", []string{"1(amd)"}},
		{"1 0(V100)", []string{"10(V100)", "1(V100)"}},
		{"2(V100,A100)", []string{"2(V100|A100)"}},
		{"2(amd|V100)", []string{"2(amd)"}},
		{"0.5(MI250)", []string{"1(amd,MI250)"}},
	}
	for _, tc := range cases {
		_, err := c.ParseResolve(tc.in)
		if err == nil {
			t.Fatalf("ParseResolve(%q) accepted", tc.in)
		}
		for _, h := range tc.hint {
			if !strings.Contains(err.Error(), h) {
				t.Errorf("ParseResolve(%q): %v; want it to propose %s", tc.in, err, h)
			}
			if _, err := c.ParseResolve(h); err != nil {
				t.Errorf("ParseResolve(%q) proposes %s, which is refused: %v", tc.in, h, err)
			}
		}
	}
}
