package nodeagent

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func TestPlanMetadata(t *testing.T) {
	cat := catalog.Default()
	t4s := Classify(discover(t, newMockServer(cfgT4, cfgT4)), cat)
	v100s := Classify(discover(t, newMockServer(cfgV100x16, cfgV100x16)), cat)
	mixed := Classify(discover(t, newMockServer(cfgV100x32, cfgT4)), cat)
	none := Classify(discover(t, newMockServer()), cat)
	t4Labels := map[string]string{"gpu": "true", "gpu-type": "T4", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"}
	with := func(m map[string]string, kv ...string) map[string]string {
		m = maps.Clone(m)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	mine := func(keys ...string) written {
		w := written{Labels: map[string]bool{}, Annotations: map[string]bool{}}
		for _, k := range keys {
			w.Labels[k] = true
		}
		return w
	}
	tests := []struct {
		name        string
		g           NodeGPUs
		vgpu        bool
		setup       *nodeSetup        // instead of vgpu
		labels      map[string]string // the node's
		written     written
		wantLabels  map[string]string // the plan's
		wantKept    []string          // keys kept against the agent's view
		wantTypedAs string
		wantChanges bool
	}{
		{name: "bare node gets everything", g: t4s, labels: map[string]string{},
			wantLabels: t4Labels, wantChanges: true},
		{name: "--vgpu adds vgpu=true", g: t4s, vgpu: true, labels: map[string]string{},
			wantLabels: with(t4Labels, "vgpu", "true"), wantChanges: true},
		{name: "vgpu=true by hand is not the agent's to remove", g: t4s, labels: map[string]string{"gpu": "true", "vgpu": "true"},
			wantLabels: t4Labels, wantChanges: true},
		{name: "vgpu=true the agent wrote is left out, so removed", g: t4s, labels: with(t4Labels, "vgpu", "true"), written: mine("gpu-type", "vgpu"),
			wantLabels: t4Labels, wantChanges: true},
		{name: "gpu-type by hand, same value: applied too, nothing kept", g: t4s, labels: map[string]string{"gpu-type": "T4"},
			wantLabels: t4Labels, wantChanges: true},
		{name: "gpu-type by hand, other value: kept, cards typed by it", g: v100s, labels: map[string]string{"gpu": "true", "gpu-type": "V100"},
			wantLabels:  map[string]string{"gpu": "true", api.LabelGPUCount: "2", api.LabelGPUMemory: "16384"},
			wantKept:    []string{"gpu-type"},
			wantTypedAs: "V100", wantChanges: true},
		{name: "gpu-type the agent wrote, other value: corrected", g: v100s, labels: map[string]string{"gpu": "true", "gpu-type": "V100"}, written: mine("gpu-type"),
			wantLabels:  map[string]string{"gpu": "true", "gpu-type": "V100-16GB", api.LabelGPUCount: "2", api.LabelGPUMemory: "16384"},
			wantChanges: true},
		{name: "mixed: no gpu-type from the agent", g: mixed, labels: map[string]string{},
			wantLabels: map[string]string{"gpu": "true", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"}, wantChanges: true},
		{name: "mixed: gpu-type by hand kept and said", g: mixed, labels: map[string]string{"gpu-type": "V100"},
			wantLabels: map[string]string{"gpu": "true", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"},
			wantKept:   []string{"gpu-type"}, wantChanges: true},
		{name: "mixed: the agent's own gpu-type is left out, so removed", g: mixed, labels: map[string]string{"gpu-type": "V100"}, written: mine("gpu-type"),
			wantLabels: map[string]string{"gpu": "true", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"}, wantChanges: true},
		{name: "no cards: the agent's gpu label stays, the rest goes", g: none, labels: t4Labels, written: mine("gpu", "gpu-type", api.LabelGPUCount),
			wantLabels: map[string]string{"gpu": "true"}, wantChanges: true},
		{name: "no cards, nothing written: nothing to do", g: none, labels: map[string]string{"gpu": "true"},
			wantLabels: map[string]string{}, wantChanges: false},
		{name: "--pool and --sharing", g: t4s, setup: &nodeSetup{pool: "ts", sharing: "timeslice"}, labels: map[string]string{},
			wantLabels: with(t4Labels, catalog.PoolLabel, "ts", catalog.SharingLabel, "timeslice"), wantChanges: true},
		{name: "no --pool: a pool label set by hand is not the agent's to remove", g: t4s, setup: &nodeSetup{}, labels: map[string]string{catalog.PoolLabel: "hami"},
			wantLabels: t4Labels, wantChanges: true},
		{name: "--pool against another pool set by hand: kept and said", g: t4s, setup: &nodeSetup{pool: "ts"}, labels: map[string]string{catalog.PoolLabel: "hami"},
			wantLabels: t4Labels, wantKept: []string{catalog.PoolLabel}, wantChanges: true},
		{name: "MIG cards of two profiles: no profile label", g: migOf("1g.10gb", "1g.10gb+me"), labels: map[string]string{},
			wantLabels: nil, wantChanges: true},
		{name: "MIG cards all 2g.20gb", g: migOf("2g.20gb", "2g.20gb"), labels: map[string]string{},
			wantLabels: map[string]string{"gpu": "true", "gpu-type": "A100", api.LabelGPUCount: "2", api.LabelGPUMemory: "81920",
				catalog.MIGProfileLabel: "2g.20gb"}, wantChanges: true},
		{name: "MIG cards all media", g: migOf("1g.10gb+me", "1g.10gb+me"), labels: map[string]string{},
			wantLabels: map[string]string{"gpu": "true", "gpu-type": "A100", api.LabelGPUCount: "2", api.LabelGPUMemory: "81920",
				catalog.MIGProfileLabel: "1g.10gb.me"}, wantChanges: true},
		{name: "MIG next to a card without: no profile label", g: migOf("2g.20gb", ""), labels: map[string]string{},
			wantLabels: map[string]string{"gpu": "true", "gpu-type": "A100", api.LabelGPUCount: "2", api.LabelGPUMemory: "81920"}, wantChanges: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := makeNode("n").withLabels(tt.labels).node()
			if tt.written.Labels == nil {
				tt.written = mine()
			}
			setup := nodeSetup{vgpu: tt.vgpu}
			if tt.setup != nil {
				setup = *tt.setup
			}
			p, err := planMetadata(node, tt.g, setup, cat, tt.written)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantLabels == nil {
				tt.wantLabels = map[string]string{"gpu": "true", "gpu-type": "A100", api.LabelGPUCount: "2", api.LabelGPUMemory: "81920"}
			}
			if !maps.Equal(p.Labels, tt.wantLabels) {
				t.Errorf("labels %v, want %v", p.Labels, tt.wantLabels)
			}
			var kept []string
			for _, k := range p.Kept {
				kept = append(kept, k.Key)
			}
			if !reflect.DeepEqual(kept, tt.wantKept) {
				t.Errorf("kept %v, want %v", kept, tt.wantKept)
			}
			if (p.keptNote(cat) != "") != (len(tt.wantKept) > 0) {
				t.Errorf("note %q with kept %v", p.keptNote(cat), kept)
			}
			if p.TypedAs != tt.wantTypedAs || p.Changes != tt.wantChanges {
				t.Errorf("typed as %q, changes %v; want %q, %v", p.TypedAs, p.Changes, tt.wantTypedAs, tt.wantChanges)
			}
			if !tt.g.Labelable() {
				return
			}
			devices, err := api.DecodeDevices(p.Annotations[api.AnnotationDevices])
			if err != nil || len(devices) != len(tt.g.Devices) {
				t.Fatalf("devices annotation %q: %v", p.Annotations[api.AnnotationDevices], err)
			}
			for i, d := range devices {
				want := tt.g.Devices[i].Type
				if tt.wantTypedAs != "" {
					want = tt.wantTypedAs
				}
				if d.Type != want {
					t.Errorf("card %d typed %q, want %q", i, d.Type, want)
				}
			}
		})
	}
}

// TestPlanMetadataSteady: a node as the plan left it needs no change.
func TestPlanMetadataSteady(t *testing.T) {
	cat := catalog.Default()
	g := Classify(discover(t, newMockServer(cfgT4, cfgT4)), cat)
	p, err := planMetadata(makeNode("n").node(), g, nodeSetup{}, cat, written{})
	if err != nil {
		t.Fatal(err)
	}
	b := makeNode("n").withLabels(p.Labels)
	for k, v := range p.Annotations {
		b = b.withAnnotation(k, v)
	}
	w := written{Labels: map[string]bool{}, Annotations: map[string]bool{api.AnnotationDevices: true}}
	for k := range p.Labels {
		w.Labels[k] = true
	}
	again, err := planMetadata(b.node(), g, nodeSetup{}, cat, w)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changes || len(again.Kept) > 0 {
		t.Fatalf("steady node: %+v", again)
	}
}

// migOf is two A100 80GB cards, each in MIG mode with one instance of the
// profile given ("" for a card not in MIG mode).
func migOf(profiles ...string) NodeGPUs {
	g := NodeGPUs{}
	for i, p := range profiles {
		d := api.Device{Index: i, UUID: fmt.Sprintf("GPU-%d", i), Type: "A100", Product: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920}
		if p != "" {
			d.MIG = &api.DeviceMIG{Instances: []api.MIGInstance{{Profile: p, Start: 0, Size: 2}}}
		}
		g.Devices = append(g.Devices, d)
	}
	g.Types = []TypeCount{{Type: "A100", Count: len(profiles)}}
	return g
}

func TestNewNodeSetup(t *testing.T) {
	cat, err := catalog.Load(strings.NewReader("apiVersion: gpuplane.io/v1alpha1\nkind: GPUCatalog\npools:\n  - name: m\n    types: [A100]\n    sharing: mig\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts Options
		want nodeSetup
	}{
		{Options{Pool: "m"}, nodeSetup{pool: "m", sharing: "mig"}},
		{Options{Pool: "m", Sharing: "hami"}, nodeSetup{pool: "m", sharing: "hami"}},
		{Options{Pool: "other"}, nodeSetup{pool: "other"}},
		{Options{Sharing: "timeslice", VGPU: true}, nodeSetup{vgpu: true, sharing: "timeslice"}},
	} {
		if got := newNodeSetup(tc.opts, cat); got != tc.want {
			t.Errorf("newNodeSetup(%+v) = %+v, want %+v", tc.opts, got, tc.want)
		}
	}
}
