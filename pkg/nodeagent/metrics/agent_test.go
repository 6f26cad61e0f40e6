package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAgentMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewAgent(reg)
	m.ObservePass(20*time.Millisecond, false)
	m.ObservePass(time.Second, true)
	m.SetCondition("GPUDriverReady", true)
	m.SetCondition("GPURuntimeReady", false)
	m.SetCards(8)
	m.RuntimeWritten("docker")
	m.RuntimeRestarted("docker", false)
	m.NodePatched("metadata", true)
	m.NVMLErrors.Inc()
	m.SetDCGMServed(true)
	want := `
# HELP gpuplane_nodeagent_cards Cards NVML reported in the last successful pass.
# TYPE gpuplane_nodeagent_cards gauge
gpuplane_nodeagent_cards 8
# HELP gpuplane_nodeagent_condition 1 when the node condition is True after the last pass, else 0.
# TYPE gpuplane_nodeagent_condition gauge
gpuplane_nodeagent_condition{condition="GPUDriverReady"} 1
gpuplane_nodeagent_condition{condition="GPURuntimeReady"} 0
# HELP gpuplane_nodeagent_passes_total Passes of the node checklist, by result (ok: every step ran; error: a step could not run).
# TYPE gpuplane_nodeagent_passes_total counter
gpuplane_nodeagent_passes_total{result="error"} 1
gpuplane_nodeagent_passes_total{result="ok"} 1
# HELP gpuplane_nodeagent_runtime_restarts_total Container runtime restarts after a configuration change, by runtime and result.
# TYPE gpuplane_nodeagent_runtime_restarts_total counter
gpuplane_nodeagent_runtime_restarts_total{result="error",runtime="docker"} 1
# HELP gpuplane_nodeagent_dcgm_metrics_served 1 while the agent serves DCGM-named metrics itself (no dcgm-exporter answers), else 0.
# TYPE gpuplane_nodeagent_dcgm_metrics_served gauge
gpuplane_nodeagent_dcgm_metrics_served 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gpuplane_nodeagent_cards", "gpuplane_nodeagent_condition", "gpuplane_nodeagent_passes_total",
		"gpuplane_nodeagent_runtime_restarts_total", "gpuplane_nodeagent_dcgm_metrics_served"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n < 10 {
		t.Fatalf("%d series, %v", n, err)
	}
}
