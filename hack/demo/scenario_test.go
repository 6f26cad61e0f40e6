package main

import (
	"maps"
	"testing"

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

// TestDemoRequests keeps the scenario honest: the seed's requests are there, the
// bad ones are bad and the others are good for the catalog the webhook uses.
func TestDemoRequests(t *testing.T) {
	cat := catalog.Default()
	bad := map[string]bool{"2(V100": true, "1.5": true}
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, r := range demoRequests() {
		seen[r.gpu] = true
		if names[r.name] {
			t.Errorf("two requests named %q", r.name)
		}
		names[r.name] = true
		_, err := cat.ParseResolve(r.gpu)
		if bad[r.gpu] != (err != nil) {
			t.Errorf("request %q: resolve error %v, want an error %v", r.gpu, err, bad[r.gpu])
		}
		if r.role != "" && !cat.HasRole(r.role) {
			t.Errorf("request %q: role %q is not in the catalog", r.gpu, r.role)
		}
	}
	for _, want := range []string{"1(T4)", "2(V100)", "1(VGPU)", "0.5(A100)", "2(V100|A100)", "2(V100"} {
		if !seen[want] {
			t.Errorf("the demo does not submit %q", want)
		}
	}
}
