package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Agent is the node agent's own metrics.
type Agent struct {
	passes         *prometheus.CounterVec
	passDuration   prometheus.Histogram
	conditions     *prometheus.GaugeVec
	cards          prometheus.Gauge
	runtimeWrites  *prometheus.CounterVec
	runtimeRestart *prometheus.CounterVec
	nodePatches    *prometheus.CounterVec
	// NVMLErrors counts failed NVML reads, by passes and by scrapes.
	NVMLErrors prometheus.Counter
	dcgmServed prometheus.Gauge
}

// NewAgent creates the metrics and registers them on reg.
func NewAgent(reg prometheus.Registerer) *Agent {
	m := &Agent{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_nodeagent_passes_total",
			Help: "Passes of the node checklist, by result (ok: every step ran; error: a step could not run).",
		}, []string{"result"}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gpuplane_nodeagent_pass_duration_seconds",
			Help:    "Time one pass of the node checklist took.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		conditions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gpuplane_nodeagent_condition",
			Help: "1 when the node condition is True after the last pass, else 0.",
		}, []string{"condition"}),
		cards: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuplane_nodeagent_cards",
			Help: "Cards NVML reported in the last successful pass.",
		}),
		runtimeWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_nodeagent_runtime_config_writes_total",
			Help: "Container runtime configuration files rewritten, by runtime.",
		}, []string{"runtime"}),
		runtimeRestart: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_nodeagent_runtime_restarts_total",
			Help: "Container runtime restarts after a configuration change, by runtime and result.",
		}, []string{"runtime", "result"}),
		nodePatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_nodeagent_node_patches_total",
			Help: "Patches sent for the agent's node, by part (metadata, status) and result.",
		}, []string{"part", "result"}),
		NVMLErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuplane_nodeagent_nvml_errors_total",
			Help: "Failed NVML reads, by checklist passes and by metric scrapes.",
		}),
		dcgmServed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuplane_nodeagent_dcgm_metrics_served",
			Help: "1 while the agent serves DCGM-named metrics itself (no dcgm-exporter answers), else 0.",
		}),
	}
	reg.MustRegister(m.passes, m.passDuration, m.conditions, m.cards, m.runtimeWrites,
		m.runtimeRestart, m.nodePatches, m.NVMLErrors, m.dcgmServed)
	return m
}

// ObservePass records a pass that took d; failed is true when a step could
// not run at all (as opposed to finding the node not ready).
func (m *Agent) ObservePass(d time.Duration, failed bool) {
	result := "ok"
	if failed {
		result = "error"
	}
	m.passes.WithLabelValues(result).Inc()
	m.passDuration.Observe(d.Seconds())
}

// SetCondition records a condition's status.
func (m *Agent) SetCondition(condition string, ready bool) {
	m.conditions.WithLabelValues(condition).Set(boolValue(ready))
}

// SetCards records how many cards NVML reported.
func (m *Agent) SetCards(n int) { m.cards.Set(float64(n)) }

// RuntimeWritten counts a rewritten configuration file.
func (m *Agent) RuntimeWritten(runtime string) { m.runtimeWrites.WithLabelValues(runtime).Inc() }

// RuntimeRestarted counts a restart attempt.
func (m *Agent) RuntimeRestarted(runtime string, ok bool) {
	m.runtimeRestart.WithLabelValues(runtime, okLabel(ok)).Inc()
}

// NodePatched counts a patch of the node's metadata or status.
func (m *Agent) NodePatched(part string, ok bool) {
	m.nodePatches.WithLabelValues(part, okLabel(ok)).Inc()
}

// SetDCGMServed records whether the agent serves DCGM metrics itself.
func (m *Agent) SetDCGMServed(served bool) { m.dcgmServed.Set(boolValue(served)) }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func okLabel(ok bool) string {
	if ok {
		return "ok"
	}
	return "error"
}
