package nodeagent

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/pkg/api"
)

var agentEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testAgent builds an agent over a fake client holding node.
func testAgent(t *testing.T, node *corev1.Node, opts Options, deps Deps) (*Agent, *fake.Clientset, *testingclock.FakeClock) {
	t.Helper()
	client := fake.NewClientset(node)
	clk := testingclock.NewFakeClock(agentEpoch)
	opts.NodeName = node.Name
	opts = opts.Default()
	if err := opts.Validate(true); err != nil {
		t.Fatal(err)
	}
	deps.Client, deps.Clock = client, clk
	deps = deps.withDefaults(opts)
	p, err := build(opts, deps, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.discoverer.Close() })
	return newAgent(opts, client, p.checklist, p.catalog, clk, p.metrics), client, clk
}

func patches(c *fake.Clientset) []k8stesting.PatchAction {
	var out []k8stesting.PatchAction
	for _, a := range c.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			out = append(out, p)
		}
	}
	return out
}

// unowned is the node without what the agent owns, for "nothing else
// changed" comparisons.
func unowned(n *corev1.Node) *corev1.Node {
	n = n.DeepCopy()
	for _, k := range []string{"gpu", "gpu-type", "vgpu", api.LabelGPUCount, api.LabelGPUMemory} {
		delete(n.Labels, k)
	}
	delete(n.Annotations, api.AnnotationDevices)
	n.Status.Conditions = slices.DeleteFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
		return slices.Contains(conditionTypes(), string(c.Type))
	})
	// Type meta is how a reply names the kind (an apply's reply does), not
	// part of the stored node.
	n.ResourceVersion, n.ManagedFields, n.TypeMeta = "", nil, metav1.TypeMeta{}
	return n
}

func TestAgentSync(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	opts.FakeDevices, opts.ApplyRuntime, opts.RestartRuntime, opts.ServeMetrics = "2xT4@40%", true, true, true
	node := makeNode("gpu-1").withLabels(map[string]string{"train": "true"}).withAnnotation("team", "vision").
		withAllocatable("nvidia.com/gpu", "2").node()
	a, client, _ := testAgent(t, node, opts, Deps{Runner: &countingRunner{}})
	lister := clientLister{client}
	ctx := context.Background()

	rep, err := a.sync(ctx, lister)
	if err != nil {
		t.Fatalf("first pass: %v", err)
	}
	if !rep.Ready() {
		t.Fatalf("first pass not ready: %+v", rep.Steps)
	}
	if n := len(patches(client)); n != 2 {
		t.Fatalf("%d patches on the first pass, want 2 (metadata, status)", n)
	}
	got, err := client.CoreV1().Nodes().Get(ctx, "gpu-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"kubernetes.io/hostname": "gpu-1", "train": "true", "gpu": "true", "gpu-type": "T4",
		api.LabelGPUCount: "2", api.LabelGPUMemory: "16384"}
	if !maps.Equal(got.Labels, wantLabels) {
		t.Errorf("labels %v\nwant %v", got.Labels, wantLabels)
	}
	devices, err := api.DecodeDevices(got.Annotations[api.AnnotationDevices])
	if err != nil || len(devices) != 2 || devices[1].Type != "T4" || devices[1].Index != 1 || devices[1].UUID == "" {
		t.Errorf("devices annotation %q: %v", got.Annotations[api.AnnotationDevices], err)
	}
	if got.Annotations["team"] != "vision" {
		t.Error("foreign annotation lost")
	}
	wantReasons := map[string]string{
		api.ConditionDriverReady:       "DriverLoaded",
		api.ConditionRuntimeReady:      "RuntimeConfigured",
		api.ConditionDevicePluginReady: "ResourceAdvertised",
		api.ConditionExporterReady:     "ServedByNodeAgent",
	}
	for typ, reason := range wantReasons {
		c := findCondition(got, typ)
		if c == nil || c.Status != corev1.ConditionTrue || c.Reason != reason || !c.LastTransitionTime.Time.Equal(agentEpoch) {
			t.Errorf("condition %s = %+v, want True/%s", typ, c, reason)
		}
	}
	if !reflect.DeepEqual(unowned(got), unowned(node)) {
		t.Errorf("the agent changed what it does not own:\nbefore %+v\nafter  %+v", unowned(node), unowned(got))
	}

	// A pass that finds nothing new sends nothing.
	client.ClearActions()
	if _, err := a.sync(ctx, lister); err != nil {
		t.Fatal(err)
	}
	if n := len(patches(client)); n != 0 {
		t.Fatalf("no-op pass sent %d patches", n)
	}
}

func TestAgentSyncDriverMissing(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	opts.ApplyRuntime = true
	srv := newMockServer(cfgT4)
	srv.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
	labelled := map[string]string{"gpu": "true", "gpu-type": "T4", api.LabelGPUCount: "1", api.LabelGPUMemory: "15360"}
	node := makeNode("gpu-2").withLabels(labelled).withAllocatable("nvidia.com/gpu", "1").node()
	reg := prometheus.NewPedanticRegistry()
	a, client, _ := testAgent(t, node, opts, Deps{NVML: srv, Registry: reg})

	rep, err := a.sync(context.Background(), clientLister{client})
	if err == nil || rep.Discovered {
		t.Fatalf("pass without a driver: err %v, discovered %v", err, rep.Discovered)
	}
	got, _ := client.CoreV1().Nodes().Get(context.Background(), "gpu-2", metav1.GetOptions{})
	for k, v := range labelled {
		if got.Labels[k] != v {
			t.Errorf("label %s changed to %q while NVML was unreadable", k, got.Labels[k])
		}
	}
	c := findCondition(got, api.ConditionDriverReady)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "NVMLLibraryNotFound" {
		t.Fatalf("driver condition %+v", c)
	}
	if c := findCondition(got, api.ConditionDevicePluginReady); c == nil || c.Status != corev1.ConditionUnknown {
		t.Fatalf("device plugin condition %+v, want Unknown", c)
	}
	if v := testutil.ToFloat64(a.metrics.NVMLErrors); v != 0 {
		t.Errorf("NVML errors counted by a pass: %v (they count scrapes)", v)
	}
}

// TestAgentRun drives the loop: a first pass at start, one per resync on
// the (fake) clock, one when the node's allocatable changes, and retries
// with backoff while a pass fails.
func TestAgentRun(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	opts.ApplyRuntime, opts.RestartRuntime = true, true
	opts.Resync, opts.BackoffBase, opts.BackoffMax = time.Minute, 5*time.Second, 40*time.Second
	srv := newMockServer(cfgT4, cfgT4)
	var driverDown atomic.Bool
	srv.InitFunc = func() nvml.Return {
		if driverDown.Load() {
			return nvml.ERROR_DRIVER_NOT_LOADED
		}
		return nvml.SUCCESS
	}
	count := srv.DeviceGetCountFunc
	srv.DeviceGetCountFunc = func() (int, nvml.Return) {
		if driverDown.Load() {
			return 0, nvml.ERROR_DRIVER_NOT_LOADED
		}
		return count()
	}
	node := makeNode("gpu-3").node()
	a, client, clk := testAgent(t, node, opts, Deps{NVML: srv, Runner: &countingRunner{}})
	passes := make(chan error, 16)
	a.afterPass = func(_ Report, err error) { passes <- err }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	waitPass := func(what string) error {
		t.Helper()
		select {
		case err := <-passes:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("no pass: %s", what)
			return nil
		}
	}
	if err := waitPass("at start"); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	// The informer sees the agent's own patches; they cause at most a no-op
	// pass each. Drain those before stepping the clock.
	drain(passes)

	clk.Step(opts.Resync)
	if err := waitPass("after a resync"); err != nil {
		t.Fatalf("resync pass: %v", err)
	}

	// The device plugin comes up: a pass at once, without waiting for a resync.
	got, _ := client.CoreV1().Nodes().Get(ctx, "gpu-3", metav1.GetOptions{})
	if c := findCondition(got, api.ConditionDevicePluginReady); c == nil || c.Status != corev1.ConditionFalse {
		t.Fatalf("device plugin condition before the plugin: %+v", c)
	}
	got.Status.Allocatable["nvidia.com/gpu"] = mustQuantity("2")
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, passes, client, "gpu-3", api.ConditionDevicePluginReady, corev1.ConditionTrue)

	// The driver goes away: passes fail and are retried on the fake clock
	// with growing delays (5s, 10s, 20s, then 40s).
	driverDown.Store(true)
	drain(passes)
	for i := range 4 {
		if err := stepUntilPass(t, clk, passes, opts.BackoffBase); err == nil {
			t.Fatalf("pass %d without a driver succeeded", i)
		}
	}
	if n := a.queue.NumRequeues(a.nodeName); n < 3 {
		t.Fatalf("%d retries counted, want at least 3", n)
	}
	driverDown.Store(false)
	recovered := false
	for range 10 {
		if stepUntilPass(t, clk, passes, opts.BackoffBase) == nil {
			recovered = true
			break
		}
	}
	if !recovered {
		t.Fatal("no successful pass after the driver came back")
	}
	if n := a.queue.NumRequeues(a.nodeName); n != 0 {
		t.Errorf("retries not reset after a successful pass: %d", n)
	}
	got, _ = client.CoreV1().Nodes().Get(ctx, "gpu-3", metav1.GetOptions{})
	if c := findCondition(got, api.ConditionDriverReady); c == nil || c.Status != corev1.ConditionTrue {
		t.Fatalf("driver condition after recovery: %+v", c)
	}
}

// stepUntilPass moves the fake clock by step until a pass happens, and
// returns its error. Passes come at the times the agent's backoff or
// resync chose, so the test need not know them.
func stepUntilPass(t *testing.T, clk *testingclock.FakeClock, passes chan error, step time.Duration) error {
	t.Helper()
	for range 100 {
		select {
		case err := <-passes:
			return err
		case <-time.After(100 * time.Millisecond):
			clk.Step(step)
		}
	}
	t.Fatal("no pass after 100 clock steps")
	return nil
}

func drain(ch chan error) {
	for {
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// waitCondition waits, pass by pass, until the node's condition has status.
func waitCondition(t *testing.T, passes chan error, client *fake.Clientset, node, typ string, status corev1.ConditionStatus) {
	t.Helper()
	for range 10 {
		select {
		case <-passes:
		case <-time.After(30 * time.Second):
			t.Fatalf("no pass while waiting for %s=%s", typ, status)
		}
		got, _ := client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if c := findCondition(got, typ); c != nil && c.Status == status {
			return
		}
	}
	t.Fatalf("%s never became %s", typ, status)
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
