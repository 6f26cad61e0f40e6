//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/nodeagent"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/runtime"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// agentLimit bounds the wait for an agent's first passes to reach its node.
const agentLimit = 60 * time.Second

// TestNodeAgentsLabelTheirNodes runs two node agents in this process, with
// fake cards (8 V100s, 2 T4s), against a real API server: each labels and
// annotates its own node, sets the four conditions, fixes its docker
// configuration, and changes nothing else on the Node.
func TestNodeAgentsLabelTheirNodes(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()

	type agentCase struct {
		node, devices, wantType, wantMemory string
		cards                               int
	}
	agents := []agentCase{
		{node: "gpu-v100", devices: "8xV100@30%", wantType: "V100", wantMemory: "32768", cards: 8},
		{node: "gpu-t4", devices: "2xT4", wantType: "T4", wantMemory: "16384", cards: 2},
	}
	before := map[string]*corev1.Node{}
	for _, a := range agents {
		n, err := c.AddGPUNode(ctx, cluster.NodeSpec{
			Name:        a.node,
			Labels:      map[string]string{"train": "true"},
			Annotations: map[string]string{"example.com/owner": "ml-platform"},
			Capacity:    map[string]string{"nvidia.com/gpu": fmt.Sprint(a.cards)},
		})
		if err != nil {
			t.Fatal(err)
		}
		before[a.node] = n
	}
	// A bystander node the agents must not touch.
	bystander, err := c.AddGPUNode(ctx, cluster.NodeSpec{Name: "cpu-1"})
	if err != nil {
		t.Fatal(err)
	}

	// No dcgm-exporter: a closed loopback port, so the agents serve the
	// DCGM metrics themselves.
	closed := httptest.NewServer(nil)
	exporterURL := closed.URL + "/metrics"
	closed.Close()

	agentCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	daemonFiles := map[string]string{}
	for _, a := range agents {
		opts, daemonJSON := agentFiles(t)
		daemonFiles[a.node] = daemonJSON
		opts.NodeName = a.node
		opts.FakeDevices = a.devices
		opts.ExporterURL = exporterURL
		opts.Resync = time.Second
		opts.ApplyRuntime, opts.RestartRuntime, opts.ServeMetrics = true, true, true
		restarts := runtime.RunnerFunc(func(context.Context, []string) ([]byte, error) { return nil, nil })
		wg.Go(func() {
			if err := nodeagent.Run(agentCtx, opts, nodeagent.Deps{Client: client, Runner: restarts}); err != nil {
				t.Errorf("agent of %s: %v", a.node, err)
			}
		})
	}

	for _, a := range agents {
		t.Run(a.node, func(t *testing.T) {
			got := waitAgent(ctx, t, client, a.node)
			wantLabels := map[string]string{"gpu": "true", "gpu-type": a.wantType,
				api.LabelGPUCount: fmt.Sprint(a.cards), api.LabelGPUMemory: a.wantMemory}
			for k, v := range wantLabels {
				if got.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
				}
			}
			if _, ok := got.Labels["vgpu"]; ok {
				t.Error("vgpu label without --vgpu")
			}
			devices, err := api.DecodeDevices(got.Annotations[api.AnnotationDevices])
			if err != nil || len(devices) != a.cards {
				t.Fatalf("devices annotation %q: %v", got.Annotations[api.AnnotationDevices], err)
			}
			for i, d := range devices {
				if d.Index != i || d.Type != a.wantType || !strings.HasPrefix(d.UUID, "GPU-") || d.MemoryMiB <= 0 {
					t.Errorf("device %d = %+v", i, d)
				}
			}
			wantConditions := map[string]string{
				api.ConditionDriverReady:       "DriverLoaded",
				api.ConditionRuntimeReady:      "RuntimeConfigured",
				api.ConditionDevicePluginReady: "ResourceAdvertised",
				api.ConditionExporterReady:     "ServedByNodeAgent",
			}
			for typ, reason := range wantConditions {
				cond := condition(got, typ)
				if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != reason || cond.Message == "" {
					t.Errorf("condition %s = %+v, want True/%s", typ, cond, reason)
				}
			}
			if !reflect.DeepEqual(unownedParts(got), unownedParts(before[a.node])) {
				t.Errorf("the agent changed what it does not own:\nbefore %+v\nafter  %+v", unownedParts(before[a.node]), unownedParts(got))
			}
			content, err := os.ReadFile(daemonFiles[a.node])
			if err != nil || !strings.Contains(string(content), `"default-runtime": "nvidia"`) ||
				!strings.Contains(string(content), `"insecure-registries": ["registry.local:5000"]`) {
				t.Errorf("daemon.json after the agent (%v):\n%s", err, content)
			}

			// Settled: passes every second find nothing new and send nothing.
			rv := got.ResourceVersion
			time.Sleep(3 * time.Second)
			again, err := client.CoreV1().Nodes().Get(ctx, a.node, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if again.ResourceVersion != rv {
				t.Errorf("node changed while nothing happened: %+v", again.ObjectMeta)
			}
		})
	}

	after, err := client.CoreV1().Nodes().Get(ctx, bystander.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != bystander.ResourceVersion {
		t.Errorf("an agent touched node %s", bystander.Name)
	}
}

// agentFiles makes a docker directory holding the seed's daemon.json and a
// stand-in nvidia-container-runtime, and returns options pointing at them.
func agentFiles(t *testing.T) (nodeagent.Options, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "nvidia-container-runtime"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	daemonJSON := filepath.Join(dir, "daemon.json")
	seed := "{\n  \"insecure-registries\": [\"registry.local:5000\"],\n  \"log-driver\": \"json-file\"\n}\n"
	if err := os.WriteFile(daemonJSON, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	return nodeagent.Options{
		DockerConfig:       daemonJSON,
		ContainerdConfig:   filepath.Join(dir, "containerd", "config.toml"), // absent: docker only
		RuntimeSearchPaths: []string{bin},
		DevicePluginDir:    filepath.Join(dir, "device-plugins"),
	}, daemonJSON
}

// waitAgent waits until the node carries the agent's four conditions and
// its type label, and returns it.
func waitAgent(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) *corev1.Node {
	t.Helper()
	deadline := time.Now().Add(agentLimit)
	for {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil && n.Labels["gpu-type"] != "" && allTrue(n) {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready after %v (%v): labels %v, conditions %+v", name, agentLimit, err, n.Labels, n.Status.Conditions)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func agentConditions() []string {
	return []string{api.ConditionDriverReady, api.ConditionRuntimeReady, api.ConditionDevicePluginReady, api.ConditionExporterReady}
}

func allTrue(n *corev1.Node) bool {
	for _, typ := range agentConditions() {
		if c := condition(n, typ); c == nil || c.Status != corev1.ConditionTrue {
			return false
		}
	}
	return true
}

func condition(n *corev1.Node, typ string) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if string(n.Status.Conditions[i].Type) == typ {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// unownedParts is what the agent must leave alone: the node without the
// labels, annotation and conditions it owns, and without the bookkeeping
// the API server changes on every write.
func unownedParts(n *corev1.Node) *corev1.Node {
	n = n.DeepCopy()
	for _, k := range []string{"gpu", "gpu-type", "vgpu", api.LabelGPUCount, api.LabelGPUMemory} {
		delete(n.Labels, k)
	}
	delete(n.Annotations, api.AnnotationDevices)
	if len(n.Annotations) == 0 {
		n.Annotations = nil
	}
	n.Status.Conditions = slices.DeleteFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
		return slices.Contains(agentConditions(), string(c.Type))
	})
	n.ResourceVersion, n.ManagedFields, n.Generation = "", nil, 0
	return n
}
