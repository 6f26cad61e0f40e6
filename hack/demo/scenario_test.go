package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func TestNodeCapacity(t *testing.T) {
	cat := catalog.Default()
	tests := []struct {
		name    string
		node    demoNode
		want    map[string]string
		wantErr bool
	}{
		{name: "whole cards", node: demoNode{name: "n", cards: 8, typ: "V100"}, want: map[string]string{"nvidia.com/gpu": "8"}},
		// 4 cards of 80Gi, in units of 256Mi.
		{name: "vGPU", node: demoNode{name: "n", cards: 4, typ: "A100", vgpu: true},
			want: map[string]string{"tencent.com/vcuda-core": "400", "tencent.com/vcuda-memory": "1280"}},
		{name: "vGPU of an unknown type", node: demoNode{name: "n", cards: 1, typ: "X999", vgpu: true}, wantErr: true},
		// HAMi's device plugin: each card split count times.
		{name: "HAMi", node: demoNode{name: "n", cards: 2, typ: "L4", hamiSplit: 4}, want: map[string]string{"nvidia.com/gpu": "8"}},
		// The NVIDIA device plugin, mixed strategy: each profile's instances.
		{name: "MIG", node: demoNode{name: "n", cards: 2, typ: "H100", mig: []string{"3g.40gb", "1g.10gb", "1g.10gb"}},
			want: map[string]string{"nvidia.com/mig-3g.40gb": "2", "nvidia.com/mig-1g.10gb": "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.node.capacity(cat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("capacity %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDemoNodesAreCatalogTypes(t *testing.T) {
	cat := catalog.Default()
	for _, n := range demoNodes() {
		if _, ok := cat.Type(n.typ); !ok {
			t.Errorf("node %s: type %q is not in the built-in catalog, so its agent could not name its cards", n.name, n.typ)
		}
	}
}

// TestDemoHAMiRegistration checks that the HAMi node's cards are registered
// as HAMi's device plugin would, and that no other node is.
func TestDemoHAMiRegistration(t *testing.T) {
	cat := demoCat(t)
	for _, n := range demoNodes() {
		a, err := n.hamiRegistration(cat)
		if err != nil {
			t.Fatal(err)
		}
		if n.hamiSplit == 0 {
			if a != nil {
				t.Errorf("node %s is not a HAMi node but gets %v", n.name, a)
			}
			continue
		}
		ds, err := hami.DecodeRegistration(a[hami.AnnotationRegister])
		if err != nil || len(ds) != n.cards {
			t.Fatalf("node %s: registration %v (%v), want %d cards", n.name, a, err, n.cards)
		}
		typ, _ := cat.Type(n.typ)
		for i, d := range ds {
			if d.Index != i || d.Split != n.hamiSplit || d.MemoryMiB != typ.MemoryMiB || !d.Health || d.Mode != hami.ModeHAMiCore {
				t.Errorf("node %s: card %d registered as %+v", n.name, i, d)
			}
			if got, ok := cat.MatchProduct(d.Type); !ok || got.Name != n.typ {
				t.Errorf("node %s: product %q is not type %s in the catalog", n.name, d.Type, n.typ)
			}
		}
	}
}

func demoCat(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load(strings.NewReader(demoCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestDemoRequests keeps the scenario honest: the seed's requests are there, the
// bad ones are bad and the others are good for the catalog the webhook uses,
// each share served by the backend the demo shows it on.
func TestDemoRequests(t *testing.T) {
	cat := demoCat(t)
	backend := map[string]catalog.Sharing{"0.5(A100)": catalog.SharingGPUManager, "1(VGPU)": catalog.SharingGPUManager,
		"0.5(L4)": catalog.SharingHAMi, "1(mig-1g.10gb)": catalog.SharingMIG}
	bad := map[string]bool{"2(V100": true, "1.5": true}
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, r := range demoRequests() {
		seen[r.gpu] = true
		if names[r.name] {
			t.Errorf("two requests named %q", r.name)
		}
		names[r.name] = true
		res, err := cat.ParseResolve(r.gpu)
		if bad[r.gpu] != (err != nil) {
			t.Errorf("request %q: resolve error %v, want an error %v", r.gpu, err, bad[r.gpu])
		}
		if want, ok := backend[r.gpu]; ok && res.Sharing != want {
			t.Errorf("request %q: served by %q, want %q", r.gpu, res.Sharing, want)
		}
		if r.role != "" && !cat.HasRole(r.role) {
			t.Errorf("request %q: role %q is not in the catalog", r.gpu, r.role)
		}
	}
	for _, want := range []string{"1(T4)", "2(V100)", "1(VGPU)", "0.5(A100)", "2(V100|A100)", "2(V100", "0.5(L4)", "1(mig-1g.10gb)"} {
		if !seen[want] {
			t.Errorf("the demo does not submit %q", want)
		}
	}
}
