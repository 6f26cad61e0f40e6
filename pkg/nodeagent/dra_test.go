package nodeagent

import (
	"testing"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func TestDevicesAnnotationOnDRANodes(t *testing.T) {
	cat, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{
		{Name: "dra", Allocation: catalog.AllocationDRA}, {Name: catalog.DefaultPool}}})
	if err != nil {
		t.Fatal(err)
	}
	g := Classify(discover(t, newMockServer(cfgT4, cfgT4)), cat)
	mine := written{Labels: map[string]bool{}, Annotations: map[string]bool{api.AnnotationDevices: true}}
	for _, tt := range []struct {
		name        string
		node        nodeBuilder
		flag        bool
		pool        string // --pool
		w           written
		wantDevices bool
		wantChanges bool
	}{
		{name: "device-plugin pool", node: makeNode("n"), wantDevices: true, wantChanges: true},
		{name: "--dra", node: makeNode("n"), flag: true, wantChanges: true},
		{name: "pool label naming a DRA pool", node: makeNode("n").withLabels(map[string]string{catalog.PoolLabel: "dra"}), wantChanges: true},
		{name: "--pool naming a DRA pool", node: makeNode("n"), pool: "dra", wantChanges: true},
		{name: "pool label naming no pool of the catalog", node: makeNode("n").withLabels(map[string]string{catalog.PoolLabel: "x"}), wantDevices: true, wantChanges: true},
		{name: "the agent's annotation on a DRA node is removed", node: makeNode("n").withAnnotation(api.AnnotationDevices, "[]"), flag: true, w: mine, wantChanges: true},
		{name: "someone else's annotation on a DRA node is not the agent's", node: makeNode("n").withAnnotation(api.AnnotationDevices, "[]"), flag: true, wantChanges: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			node := tt.node.node()
			w := tt.w
			if w.Labels == nil {
				w = written{Labels: map[string]bool{}, Annotations: map[string]bool{}}
			}
			p, err := planMetadata(node, g, nodeSetup{pool: tt.pool}, cat, w)
			if err != nil {
				t.Fatal(err)
			}
			if slicesListCards(node, tt.flag, tt.pool, cat) {
				p = p.withoutDevices(node, w)
			}
			if _, ok := p.Annotations[api.AnnotationDevices]; ok != tt.wantDevices {
				t.Errorf("devices annotation planned: %v, want %v", ok, tt.wantDevices)
			}
			if p.Labels["gpu"] != "true" || p.Labels["gpu-type"] != "T4" {
				t.Errorf("labels %v: not as today", p.Labels)
			}
			if p.Changes != tt.wantChanges || len(p.Kept) != 0 {
				t.Errorf("changes %v kept %v", p.Changes, p.Kept)
			}
		})
	}
}
