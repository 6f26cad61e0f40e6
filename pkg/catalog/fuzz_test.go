package catalog

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// FuzzLoad checks that Load never panics, that every refusal is a
// *LoadError, and that every accepted catalog is usable and survives
// WriteYAML and Load unchanged. Seeds: testdata/fuzz/FuzzLoad, the
// built-in catalog and the refusal table's cases.
func FuzzLoad(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte(header))
	f.Add([]byte(header + "types:\n  - name: X1\n    memory: 1536Mi\n    aliases: [x-1]\n    products: [\"X 1*\"]\nroles: []\n"))
	f.Add([]byte(header + "vendors:\n  - name: a\n    resource: a.io/gpu\n    default: true\ntypes:\n  - name: B\n    memory: 1Gi\n"))
	f.Add([]byte(header + "anchors: &a [x]\nroles: *a\n"))
	f.Add([]byte(header + "vendors:\n  - name: a\n    resource: a.io/gpu\n    default: true\n    label: a-gpu\n    tolerations: []\n  - name: b\n    resource: b.io/gpu\n    tolerations:\n      - key: b\n        operator: Exists\ntypes:\n  - name: B\n    memory: 1Gi\n"))
	f.Add([]byte(poolsYAML))
	f.Add([]byte(header + "pools:\n  - name: a\n    sharing: mig\n    types: [A30]\n    hami: {splitCount: 2}\ntypes:\n  - name: A30\n    memory: 24Gi\n    mig: {slices: 4, profiles: [1g.6gb, 4g.24gb+me]}\n"))
	f.Add([]byte(header + "vgpu: [a]\nroles: {a: b}\ntypes:\n  - name: [x]\n    memory: 1Gi\n    name: y\n    colour: z\n"))
	f.Add([]byte(header + "pools:\n  - name: dra\n    types: [v100m32, A100]\n    allocation: dra\n    dra:\n      typeAttribute: gpu.nvidia.com/productName\n  - name: default\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(bytes.NewReader(data))
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Errs) == 0 {
				t.Fatalf("Load error %T %v is not a *LoadError with problems", err, err)
			}
			if c != nil {
				t.Fatal("Load returned a catalog alongside an error")
			}
			return
		}
		for _, ty := range c.Types {
			if got, ok := c.Type(ty.Name); !ok || got.Name != ty.Name {
				t.Fatalf("type %s does not look itself up", ty.Name)
			}
		}
		// The default vendor has a type, so a plain request resolves; a
		// share and a virtual card too when the first pool's backend
		// serves them whatever their type.
		plain := []string{"1", "0"}
		if p := c.Pools[0]; p.Allocation == AllocationDevicePlugin && (p.Sharing == SharingGPUManager || p.Sharing == SharingHAMi) {
			plain = append(plain, "0.5", "1(VGPU)")
		}
		for _, in := range plain {
			if _, err := c.ParseResolve(in); err != nil {
				t.Fatalf("%q does not resolve with an accepted catalog: %v", in, err)
			}
		}
		var buf bytes.Buffer
		if err := c.WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		written := buf.String()
		back, err := Load(&buf)
		if err != nil {
			t.Fatalf("the written catalog is refused: %v\n%s", err, written)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("the written catalog loads back different:\n%s\nloaded:  %+v\nwritten: %+v", written, c, back)
		}
	})
}

// FuzzParseResolve checks, against the built-in catalog, that resolving
// never panics, that refusals quote the input, and that the canonical form
// of every accepted request resolves to the same thing.
func FuzzParseResolve(f *testing.F) {
	for _, s := range []string{"2(V100)", "1(t4)", "2(V100|A100)", "1(VGPU)", "0.5(T4,8Gi)", "2(amd,MI250)",
		"1(ascend)", "0", "2(X999)", "0.5(T4,1Ti)", "1(V100M16|V100M32)", "0.33(VGPU,H200|A10,4Gi)",
		"1(A100,mig-3g.40gb)", "1(mig-1g.18gb)", "0.5(H200)", "0.25(L4,4Gi)", "0.5(A100|A30)", "1(T4,mig-1g.10gb)"} {
		f.Add(s)
	}
	sharing, err := Load(strings.NewReader(sharingYAML))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []*Catalog{Default(), sharing} {
		f.Add(c.Pools[0].Name)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, c := range []*Catalog{Default(), sharing} {
			checkParseResolve(t, c, in)
		}
	})
}

// checkParseResolve is one input of FuzzParseResolve against catalog c.
func checkParseResolve(t *testing.T, c *Catalog, in string) {
	r, err := c.ParseResolve(in)
	if err != nil {
		var e *gpuspec.Error
		if !errors.As(err, &e) || e.Input != in || !strings.HasPrefix(err.Error(), gpuspec.QuoteInput(in)+": ") {
			t.Fatalf("ParseResolve(%q): error %v does not quote the input", in, err)
		}
		if q := gpuspec.QuoteInput(in); len(q) > len(strconv.Quote(strings.Repeat("\U0010FFFF", gpuspec.MaxQuote)+"…")) {
			t.Fatalf("ParseResolve(%q): the quote %s is not capped", in, q)
		}
		if e.Part != "" && !strings.HasPrefix(in[e.Offset:], e.Part) {
			t.Fatalf("ParseResolve(%q): part %q is not at offset %d", in, e.Part, e.Offset)
		}
		return
	}
	canon := r.String()
	again, err := c.ParseResolve(canon)
	if err != nil {
		t.Fatalf("ParseResolve(%q): canonical %q refused: %v", in, canon, err)
	}
	if !reflect.DeepEqual(again, r) {
		t.Fatalf("ParseResolve(%q) = %+v; its canonical %q gives %+v", in, r, canon, again)
	}
}
