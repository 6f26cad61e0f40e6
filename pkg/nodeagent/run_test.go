package nodeagent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// TestRunServes runs the whole agent with fake cards and checks what
// Prometheus and the kubelet's probes see. The probes share the metrics
// server when given the same address, as here.
func TestRunServes(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	opts.NodeName = "gpu-9"
	opts.FakeDevices, opts.ServeMetrics, opts.ApplyRuntime = "2xT4@40%", true, true
	opts.MetricsBindAddress, opts.HealthProbeBindAddress = "127.0.0.1:0", "127.0.0.1:0"
	client := fake.NewClientset(makeNode("gpu-9").withAllocatable("nvidia.com/gpu", "2").node())
	addrs := make(chan net.Addr, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts, Deps{Client: client, Bound: func(a net.Addr) { addrs <- a }}) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not stop")
		}
	}()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}

	// Wait (bounded) for the first pass to reach the node.
	var n *corev1.Node
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		n, err = client.CoreV1().Nodes().Get(ctx, "gpu-9", metav1.GetOptions{})
		if err != nil || n.Labels["gpu-type"] != "T4" {
			return false, nil
		}
		c := findCondition(n, api.ConditionExporterReady)
		if c == nil {
			return false, nil
		}
		if c.Status != corev1.ConditionTrue || c.Reason != "ServedByNodeAgent" {
			return false, fmt.Errorf("exporter condition %+v", c)
		}
		return true, nil
	}); err != nil {
		t.Fatalf("node never labelled: %v: %+v", err, n)
	}

	if code, body := get(t, base+"/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz %d %q", code, body)
	}
	// The node shows the pass's writes before the pass has returned and
	// been counted, so readiness is awaited, not read once.
	ready := 0
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		ready, _ = get(t, base+"/readyz")
		return ready == http.StatusOK, nil
	}); err != nil {
		t.Errorf("readyz %d after a pass", ready)
	}
	code, metrics := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics %d", code)
	}
	for _, want := range []string{
		`DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-9",UUID="GPU-`,
		`gpu="1",modelName="Tesla T4"} 40`,
		`DCGM_FI_DEV_FB_USED{`,
		`DCGM_FI_DEV_FB_FREE{`,
		`DCGM_FI_DEV_GPU_TEMP{`,
		`DCGM_FI_DEV_POWER_USAGE{`,
		`gpuplane_nodeagent_cards 2`,
		`gpuplane_nodeagent_dcgm_metrics_served 1`,
		`gpuplane_nodeagent_condition{condition="GPUDriverReady"} 1`,
		`gpuplane_nodeagent_runtime_config_writes_total{runtime="docker"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func TestHealth(t *testing.T) {
	clk := testingclock.NewFakeClock(agentEpoch)
	h := newHealth(clk, time.Minute)
	if h.live() != nil || h.ready() == nil {
		t.Fatal("a new agent should be live and not ready")
	}
	clk.Step(3 * time.Minute)
	h.passed()
	if h.live() != nil || h.ready() != nil {
		t.Fatal("after a pass: live and ready")
	}
	clk.Step(3*time.Minute + time.Minute + time.Second)
	if h.live() == nil {
		t.Fatal("no pass for over three resyncs and a minute, still live")
	}
}
