package nodeagent

import (
	"testing"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// flatten turns a change into comparable strings: "v" for a value, "<del>"
// for a removal.
func flatten(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v == nil {
			out[k] = "<del>"
		} else {
			out[k] = *v
		}
	}
	return out
}

func TestDesiredMetadata(t *testing.T) {
	cat := catalog.Default()
	single := Classify(discover(t, newMockServer(cfgT4, cfgT4)), cat)
	mixed := Classify(discover(t, newMockServer(cfgV100x32, cfgT4)), cat)
	cases := []struct {
		name       string
		g          NodeGPUs
		discovered bool
		vgpu       bool
		wantLabels map[string]string
		wantDevs   string // "<del>", "" (not touched) or "set"
	}{
		{
			name: "one type", g: single, discovered: true,
			wantLabels: map[string]string{"gpu": "true", "gpu-type": "T4", "vgpu": "<del>", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"},
			wantDevs:   "set",
		},
		{
			name: "one type on a vGPU node", g: single, discovered: true, vgpu: true,
			wantLabels: map[string]string{"gpu": "true", "gpu-type": "T4", "vgpu": "true", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"},
			wantDevs:   "set",
		},
		{
			name: "mixed types: no gpu-type, smallest memory", g: mixed, discovered: true,
			wantLabels: map[string]string{"gpu": "true", "gpu-type": "<del>", "vgpu": "<del>", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"},
			wantDevs:   "set",
		},
		{
			name: "unknown product: only the gpu label stays", g: NodeGPUs{Unknown: single.Inventory.Cards, Inventory: single.Inventory}, discovered: true,
			wantLabels: map[string]string{"gpu-type": "<del>", "vgpu": "<del>", api.LabelGPUCount: "<del>", api.LabelGPUMemory: "<del>"},
			wantDevs:   "<del>",
		},
		{
			name: "NVML unreadable: nothing touched", discovered: false, vgpu: true,
			wantLabels: map[string]string{},
			wantDevs:   "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := desiredMetadata(tc.g, tc.discovered, tc.vgpu, cat)
			if err != nil {
				t.Fatal(err)
			}
			got := flatten(ch.Labels)
			if len(got) != len(tc.wantLabels) {
				t.Fatalf("labels %v, want %v", got, tc.wantLabels)
			}
			for k, v := range tc.wantLabels {
				if got[k] != v {
					t.Errorf("label %s = %q, want %q", k, got[k], v)
				}
			}
			devs, ok := ch.Annotations[api.AnnotationDevices]
			switch tc.wantDevs {
			case "":
				if ok {
					t.Errorf("devices annotation touched")
				}
			case "<del>":
				if !ok || devs != nil {
					t.Errorf("devices annotation not removed")
				}
			default:
				if !ok || devs == nil {
					t.Fatal("devices annotation not set")
				}
				decoded, err := api.DecodeDevices(*devs)
				if err != nil || len(decoded) != len(tc.g.Devices) {
					t.Errorf("annotation %s: %v", *devs, err)
				}
			}
		})
	}
}

func TestMetadataDiff(t *testing.T) {
	cat := catalog.Default()
	g := Classify(discover(t, newMockServer(cfgT4, cfgT4)), cat)
	ch, err := desiredMetadata(g, true, false, cat)
	if err != nil {
		t.Fatal(err)
	}
	devices := *ch.Annotations[api.AnnotationDevices]
	cases := []struct {
		name   string
		node   nodeBuilder
		want   map[string]string
		wantAn map[string]string
	}{
		{
			name:   "bare node gets everything",
			node:   makeNode("n"),
			want:   map[string]string{"gpu": "true", "gpu-type": "T4", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"},
			wantAn: map[string]string{api.AnnotationDevices: devices},
		},
		{
			name: "already right: nothing",
			node: makeNode("n").withLabels(map[string]string{"gpu": "true", "gpu-type": "T4", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360", "train": "true"}).
				withAnnotation(api.AnnotationDevices, devices),
			want: map[string]string{}, wantAn: map[string]string{},
		},
		{
			name: "stale type and a vgpu label left over",
			node: makeNode("n").withLabels(map[string]string{"gpu": "true", "gpu-type": "V100", "vgpu": "true", api.LabelGPUCount: "2", api.LabelGPUMemory: "15360"}).
				withAnnotation(api.AnnotationDevices, devices),
			want:   map[string]string{"gpu-type": "T4", "vgpu": "<del>"},
			wantAn: map[string]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := ch.diff(tc.node.node())
			if got := flatten(d.Labels); !equalMaps(got, tc.want) {
				t.Errorf("labels %v, want %v", got, tc.want)
			}
			if got := flatten(d.Annotations); !equalMaps(got, tc.wantAn) {
				t.Errorf("annotations %v, want %v", got, tc.wantAn)
			}
			if d.empty() != (len(tc.want) == 0 && len(tc.wantAn) == 0) {
				t.Errorf("empty() = %v", d.empty())
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
