//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/internal/wiretest"
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
	exporterURL := "http://" + wiretest.ClosedAddr(t) + "/metrics"

	agentCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	daemonFiles := map[string]string{}
	registries := map[string]*prometheus.Registry{}
	for _, a := range agents {
		opts, daemonJSON := agentFiles(t)
		daemonFiles[a.node] = daemonJSON
		opts.NodeName = a.node
		opts.FakeDevices = a.devices
		opts.ExporterURL = exporterURL
		opts.Resync = time.Second
		opts.ApplyRuntime, opts.RestartRuntime, opts.ServeMetrics = true, true, true
		restarts := runtime.RunnerFunc(func(context.Context, []string) ([]byte, error) { return nil, nil })
		reg := prometheus.NewRegistry()
		registries[a.node] = reg
		wg.Go(func() {
			if err := nodeagent.Run(agentCtx, opts, nodeagent.Deps{Client: client, Runner: restarts, Registry: reg}); err != nil {
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
			agentQuiet(ctx, t, client, got, func() float64 {
				families, err := registries[a.node].Gather()
				if err != nil {
					t.Fatal(err)
				}
				sum := 0.0
				for _, f := range families {
					if f.GetName() == "gpuplane_nodeagent_passes_total" {
						for _, m := range f.GetMetric() {
							sum += m.GetCounter().GetValue()
						}
					}
				}
				return sum
			})
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

// agentQuietPasses is how many of its passes an agent that has settled
// must make without writing its node.
const agentQuietPasses = 3

// agentQuiet checks that the agent of node writes nothing to it while it
// makes agentQuietPasses passes (counted by passes, the agent's
// gpuplane_nodeagent_passes_total): a watch from node's resourceVersion
// runs across them, then the test writes an annotation itself, the
// sentinel, which must be the first change the watch sees.
func agentQuiet(ctx context.Context, t *testing.T, client kubernetes.Interface, node *corev1.Node, passes func() float64) {
	t.Helper()
	w, err := client.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", node.Name).String(),
		ResourceVersion: node.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := passes()
	if err := wait.PollUntilContextTimeout(ctx, pollInterval, agentLimit, true, func(context.Context) (bool, error) {
		return passes() >= start+agentQuietPasses, nil
	}); err != nil {
		t.Fatalf("the agent of %s made %v passes within %s, want %d: %v", node.Name, passes()-start, agentLimit, agentQuietPasses, err)
	}
	const sentinel = "e2e.gpuplane.io/sentinel"
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, sentinel, node.ResourceVersion)
	if _, err := client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(agentLimit)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("the watch of node %s ended before the sentinel came", node.Name)
			}
			n, isNode := ev.Object.(*corev1.Node)
			if !isNode {
				t.Fatalf("watching node %s: %s %v", node.Name, ev.Type, ev.Object)
			}
			if n.Annotations[sentinel] == node.ResourceVersion {
				return
			}
			var writers []string
			for _, f := range n.ManagedFields {
				writers = append(writers, fmt.Sprintf("%s %s at %v", f.Manager, f.Operation, f.Time))
			}
			t.Errorf("node %s changed while nothing happened (resourceVersion %s -> %s, %d passes of its agent): written by %q",
				node.Name, node.ResourceVersion, n.ResourceVersion, agentQuietPasses, writers)
			return
		case <-timeout:
			t.Fatalf("the sentinel written to node %s did not come through the watch within %s", node.Name, agentLimit)
		}
	}
}

// agentPasses sums the agent's passes, of every result, in a /metrics
// answer.
func agentPasses(metrics string) float64 {
	sum := 0.0
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, "gpuplane_nodeagent_passes_total{"); ok {
			var v float64
			if _, value, ok := strings.Cut(rest, "} "); ok {
				if _, err := fmt.Sscan(value, &v); err == nil {
					sum += v
				}
			}
		}
	}
	return sum
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
	var n *corev1.Node
	var last error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, agentLimit, true, func(ctx context.Context) (bool, error) {
		got, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if last = err; err != nil {
			return false, nil
		}
		n = got
		return n.Labels["gpu-type"] != "" && allTrue(n), nil
	})
	if err != nil {
		var labels map[string]string
		var conditions []corev1.NodeCondition
		if n != nil {
			labels, conditions = n.Labels, n.Status.Conditions
		}
		t.Fatalf("node %s not ready within %v (%v, last error %v): labels %v, conditions %+v", name, agentLimit, err, last, labels, conditions)
	}
	return n
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
