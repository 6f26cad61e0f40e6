package catalog

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestLoadDRAPools(t *testing.T) {
	c, err := Load(strings.NewReader(header + `
pools:
  - name: dra
    types: [v100m32, A100]
    allocation: dra
  - name: dra-custom
    types: [T4]
    allocation: dra
    dra:
      deviceClass: gpu.example.com
      typeAttribute: example.com/model
  - name: default
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Pools[0].DRA, (DRA{"gpu.nvidia.com", "mig.nvidia.com", "productName"}); got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(c.Pools[0].Types, []string{"V100", "A100"}) {
		t.Errorf("types %v", c.Pools[0].Types)
	}
	if got, want := c.Pools[1].DRA, (DRA{"gpu.example.com", "mig.nvidia.com", "example.com/model"}); got != want {
		t.Errorf("custom %+v, want %+v", got, want)
	}
	if c.Pools[2].DRA != (DRA{}) {
		t.Errorf("a device-plugin pool has DRA settings %+v", c.Pools[2].DRA)
	}
	if dom, name := c.Pools[1].DRA.AttributeDomain(); dom != "example.com" || name != "model" {
		t.Errorf("AttributeDomain() = %s, %s", dom, name)
	}
	if dom, name := c.Pools[0].DRA.AttributeDomain(); dom != "gpu.nvidia.com" || name != "productName" {
		t.Errorf("AttributeDomain() = %s, %s", dom, name)
	}
	var buf bytes.Buffer
	if err := c.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatal("the DRA pools do not load back from the written catalog")
	}
}

func TestLoadDRAPoolsRefused(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown DRA field", "pools:\n  - name: a\n    allocation: dra\n    dra:\n      class: x\n",
			`line 7: pools[0].dra.class: unknown field "class"; known: deviceClass, migDeviceClass, typeAttribute`},
		{"DRA on a device-plugin pool", "pools:\n  - name: a\n    dra:\n      deviceClass: gpu.nvidia.com\n",
			`line 5: pools[0].dra: only a pool with allocation: dra takes dra settings`},
		{"DeviceClass name", "pools:\n  - name: a\n    allocation: dra\n    dra:\n      deviceClass: GPU_class\n",
			`line 7: pools[0].dra.deviceClass: "GPU_class": not a DeviceClass name`},
		{"attribute name", "pools:\n  - name: a\n    allocation: dra\n    dra:\n      typeAttribute: product-name\n",
			`line 7: pools[0].dra.typeAttribute: "product-name": not an attribute name; an attribute name is a C identifier`},
		{"attribute domain", "pools:\n  - name: a\n    allocation: dra\n    dra:\n      typeAttribute: Bad_Domain/productName\n",
			`line 7: pools[0].dra.typeAttribute: "Bad_Domain/productName": the domain is not a DNS subdomain`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(header + tc.yaml))
			le, ok := err.(*LoadError)
			if !ok || len(le.Errs) != 1 || !strings.Contains(le.Errs[0].String(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestPoolForRequest(t *testing.T) {
	c, err := Load(strings.NewReader(header + `
pools:
  - name: dra
    types: [V100, A100]
    allocation: dra
  - name: amd-dra
    types: [MI300X]
    allocation: dra
  - name: default
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"2(V100)", "dra"},
		{"2(T4|A100)", "dra"},
		{"2(T4)", DefaultPool},
		{"2", "dra"},
		{"0", DefaultPool},
		{"1(amd,MI250)", DefaultPool},
		{"1(amd)", "amd-dra"},
		{"1(ascend)", DefaultPool},
	} {
		r, err := c.ParseResolve(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.PoolForRequest(r).Name; got != tc.want {
			t.Errorf("PoolForRequest(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if p := Default().PoolForRequest(mustResolve(t, Default(), "2(V100)")); p.Allocation != AllocationDevicePlugin {
		t.Errorf("the built-in catalog serves V100 by %s", p.Allocation)
	}
}

func mustResolve(t *testing.T, c *Catalog, in string) Resolved {
	t.Helper()
	r, err := c.ParseResolve(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
