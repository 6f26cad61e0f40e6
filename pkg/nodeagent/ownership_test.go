package nodeagent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// waitEvent waits for a Warning Event of reason on the node, whose note is
// part of message (the condition says the same as the Event).
func waitEvent(t *testing.T, client kubernetes.Interface, reason, message string) {
	t.Helper()
	var seen []string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := client.EventsV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen = seen[:0]
		for _, e := range list.Items {
			seen = append(seen, e.Reason+": "+e.Note)
			if e.Reason == reason && e.Type == corev1.EventTypeWarning && e.Regarding.Kind == "Node" && strings.Contains(message, e.Note) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s Event matching %q; events: %q", reason, message, seen)
	}
}

// TestAgentLabelOwnership runs a pass on nodes labelled by a person, or by
// the agent earlier, and checks the rule of docs/nodeagent.md: the agent
// changes and removes only the labels it wrote itself, keeps a person's,
// and says so when it disagrees with one.
func TestAgentLabelOwnership(t *testing.T) {
	v100x16 := gpus.Config{Name: "Tesla V100-PCIE-16GB", MemoryMB: 16384}
	unknown := gpus.Config{Name: "NVIDIA Foo X200 48GB", MemoryMB: 49152}
	vgpuAlloc := map[string]string{"tencent.com/vcuda-core": "200", "tencent.com/vcuda-memory": "120"}
	tests := []struct {
		name  string
		cards []gpus.Config
		vgpu  bool // --vgpu
		// byHand are the node's labels before the agent, set by a person.
		byHand map[string]string
		// byAgent are labels an earlier pass of the agent applied.
		byAgent map[string]string
		alloc   map[string]string
		// wantLabels: the label's value after the pass; "" means absent.
		wantLabels map[string]string
		// wantDeviceType is the type of every card in the devices annotation.
		wantDeviceType string
		// wantDriver is GPUDriverReady's status, and words its message must hold.
		wantDriver     corev1.ConditionStatus
		wantDriverSays []string
		// wantPlugin is GPUDevicePluginReady's status.
		wantPlugin corev1.ConditionStatus
		// wantEvent: a LabelKept Warning Event is posted on the node.
		wantEvent bool
	}{{
		name:  "vgpu=true set by the operator is kept and read",
		cards: []gpus.Config{cfgT4, cfgT4}, byHand: map[string]string{"gpu": "true", "vgpu": "true"}, alloc: vgpuAlloc,
		wantLabels:     map[string]string{"gpu": "true", "vgpu": "true", "gpu-type": "T4"},
		wantDeviceType: "T4", wantDriver: corev1.ConditionTrue, wantPlugin: corev1.ConditionTrue,
	}, {
		name:  "vgpu=true the agent wrote goes when --vgpu is gone",
		cards: []gpus.Config{cfgT4, cfgT4}, byHand: map[string]string{"gpu": "true"}, byAgent: map[string]string{"vgpu": "true"},
		alloc:          map[string]string{"nvidia.com/gpu": "2"},
		wantLabels:     map[string]string{"gpu": "true", "vgpu": "", "gpu-type": "T4"},
		wantDeviceType: "T4", wantDriver: corev1.ConditionTrue, wantPlugin: corev1.ConditionTrue,
	}, {
		name:  "--vgpu sets vgpu=true",
		cards: []gpus.Config{cfgT4, cfgT4}, vgpu: true, byHand: map[string]string{"gpu": "true"}, alloc: vgpuAlloc,
		wantLabels:     map[string]string{"gpu": "true", "vgpu": "true", "gpu-type": "T4"},
		wantDeviceType: "T4", wantDriver: corev1.ConditionTrue, wantPlugin: corev1.ConditionTrue,
	}, {
		name:  "gpu-type=V100 by hand on 16GB V100s is kept, and the cards are scheduled as V100",
		cards: []gpus.Config{v100x16, v100x16}, byHand: map[string]string{"gpu": "true", "gpu-type": "V100"},
		alloc:          map[string]string{"nvidia.com/gpu": "2"},
		wantLabels:     map[string]string{"gpu": "true", "gpu-type": "V100", api.LabelGPUCount: "2", api.LabelGPUMemory: "16384"},
		wantDeviceType: "V100", wantDriver: corev1.ConditionTrue, wantDriverSays: []string{"gpu-type=V100", "V100-16GB", "kept"},
		wantPlugin: corev1.ConditionTrue, wantEvent: true,
	}, {
		name:  "gpu-type the agent wrote earlier is corrected",
		cards: []gpus.Config{v100x16, v100x16}, byHand: map[string]string{"gpu": "true"}, byAgent: map[string]string{"gpu-type": "V100"},
		alloc:          map[string]string{"nvidia.com/gpu": "2"},
		wantLabels:     map[string]string{"gpu-type": "V100-16GB"},
		wantDeviceType: "V100-16GB", wantDriver: corev1.ConditionTrue, wantPlugin: corev1.ConditionTrue,
	}, {
		name:  "gpu-type by hand on a mixed node is kept",
		cards: []gpus.Config{cfgV100x32, cfgV100x32, cfgT4}, byHand: map[string]string{"gpu": "true", "gpu-type": "V100"},
		alloc:      map[string]string{"nvidia.com/gpu": "3"},
		wantLabels: map[string]string{"gpu-type": "V100", api.LabelGPUCount: "3", api.LabelGPUMemory: "15360"},
		wantDriver: corev1.ConditionTrue, wantDriverSays: []string{"2xV100, 1xT4", "gpu-type=V100 set by someone else is kept"},
		wantPlugin: corev1.ConditionTrue, wantEvent: true,
	}, {
		name:  "an unknown product is typed by its name and usable",
		cards: []gpus.Config{unknown, unknown}, byHand: map[string]string{"gpu": "true"},
		alloc:          map[string]string{"nvidia.com/gpu": "2"},
		wantLabels:     map[string]string{"gpu": "true", "gpu-type": "FOO-X200-48GB", api.LabelGPUCount: "2", api.LabelGPUMemory: "49152"},
		wantDeviceType: "FOO-X200-48GB", wantDriver: corev1.ConditionTrue, wantDriverSays: []string{"NVIDIA Foo X200 48GB", "not in the catalog"},
		wantPlugin: corev1.ConditionTrue,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _ := runtimeFiles(t, seedDaemonJSON)
			opts.VGPU = tt.vgpu
			b := makeNode("gpu-1").withLabels(tt.byHand)
			for k, v := range tt.alloc {
				b = b.withAllocatable(k, v)
			}
			a, client, _ := testAgent(t, b.node(), opts, Deps{NVML: newMockServer(tt.cards...)})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
			broadcaster.StartRecordingToSink(ctx.Done())
			defer broadcaster.Shutdown()
			a.recorder = broadcaster.NewRecorder(scheme.Scheme, FieldManager)
			if len(tt.byAgent) > 0 {
				_, err := client.CoreV1().Nodes().Apply(ctx, corev1ac.Node("gpu-1").WithLabels(tt.byAgent), metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
				if err != nil {
					t.Fatal(err)
				}
			}
			for range 2 { // the second pass must not undo the first
				if _, err := a.sync(ctx, clientLister{client}); err != nil && !strings.Contains(err.Error(), "exporter") {
					t.Fatalf("pass: %v", err)
				}
			}
			got, err := client.CoreV1().Nodes().Get(ctx, "gpu-1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.wantLabels {
				if v, ok := got.Labels[k]; v != want || ok != (want != "") {
					t.Errorf("label %s = %q (present %v), want %q", k, v, ok, want)
				}
			}
			for k, v := range tt.byHand {
				if got.Labels[k] != v {
					t.Errorf("label %s=%s set by hand is now %q", k, v, got.Labels[k])
				}
			}
			if tt.wantDeviceType != "" {
				devices, err := api.DecodeDevices(got.Annotations[api.AnnotationDevices])
				if err != nil || len(devices) != len(tt.cards) {
					t.Fatalf("devices annotation %q: %v", got.Annotations[api.AnnotationDevices], err)
				}
				for _, d := range devices {
					if d.Type != tt.wantDeviceType {
						t.Errorf("card %d typed %q in the annotation, want %q", d.Index, d.Type, tt.wantDeviceType)
					}
				}
			}
			driver := findCondition(got, api.ConditionDriverReady)
			if driver == nil || driver.Status != tt.wantDriver {
				t.Fatalf("GPUDriverReady = %+v, want %s", driver, tt.wantDriver)
			}
			for _, w := range tt.wantDriverSays {
				if !strings.Contains(driver.Message, w) {
					t.Errorf("GPUDriverReady message %q does not say %q", driver.Message, w)
				}
			}
			if c := findCondition(got, api.ConditionDevicePluginReady); c == nil || c.Status != tt.wantPlugin {
				t.Errorf("GPUDevicePluginReady = %+v, want %s", c, tt.wantPlugin)
			}
			if tt.wantEvent {
				waitEvent(t, client, "LabelKept", driver.Message)
			}
		})
	}
}
