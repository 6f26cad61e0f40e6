package extender

import (
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the extender's own series, all named gpuplane_extender_*.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	binds    *prometheus.CounterVec
	nodes    *prometheus.CounterVec
	expired  prometheus.Counter
	requeued prometheus.Counter
	// preempt* are the preempt verb's: see preempt.go.
	preemptNodes   *prometheus.CounterVec
	preemptVictims prometheus.Counter
}

// The values of the result label of gpuplane_extender_binds_total.
const (
	bindBound   = "bound"
	bindNoFit   = "no_fit"
	bindPatch   = "patch_failed"
	bindBinding = "binding_failed"
	bindInvalid = "invalid"
)

// Expired counts n binds dropped because the informer never showed them
// bound: what the state's expiry reports (cache.State.RunExpiry).
func (m *Metrics) Expired(n int) { m.expired.Add(float64(n)) }

// Requeued counts a pod the Requeuer had kube-scheduler try again.
func (m *Metrics) Requeued() { m.requeued.Inc() }

// NewMetrics registers the extender's metrics on reg, with gauges reading
// the sizes of state.
func NewMetrics(reg prometheus.Registerer, state *cache.State) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_extender_requests_total",
			Help: "Requests from kube-scheduler and others, by verb (filter, prioritize, bind, state) and HTTP code.",
		}, []string{"verb", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gpuplane_extender_request_duration_seconds",
			Help:    "Time to answer a request, by verb, body decoding included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"verb"}),
		binds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_extender_binds_total",
			Help: "Binds by result: bound, no_fit (the node no longer holds the pod), patch_failed, binding_failed, invalid (pod or request unusable).",
		}, []string{"result"}),
		nodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_extender_filtered_nodes_total",
			Help: "Nodes filter answered for, by result (fit, unfit; ranked-lower: fit, but filter-best left them out for a better node).",
		}, []string{"result"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuplane_extender_assumed_expired_total",
			Help: "Binds dropped from the state because the informer never showed the pod bound within the TTL.",
		}),
		requeued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuplane_extender_requeued_pods_total",
			Help: "Pending pods the extender had kube-scheduler try again, because a change that may make room for them came just after a filter call found no node for them.",
		}),
		preemptNodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_extender_preemption_nodes_total",
			Help: "Candidate nodes of preempt calls, by result: victims (the extender named pods to preempt), fits (none needed), no_victims (pods of equal or higher priority hold what the pod needs), unresolvable (the node could not hold the pod even empty), unknown (a node or request the extender cannot judge).",
		}, []string{"result"}),
		preemptVictims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuplane_extender_preemption_victims_total",
			Help: "Pods the extender named as victims in preempt answers (kube-scheduler preempts those of the one node it picks).",
		}),
	}
	gauge := func(name, help string, f func(cache.Sizes) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f(state.Sizes())) })
	}
	collectors := []prometheus.Collector{m.requests, m.latency, m.binds, m.nodes, m.expired, m.requeued, m.preemptNodes, m.preemptVictims,
		gauge("gpuplane_extender_nodes", "Nodes known from the informer.", func(s cache.Sizes) int64 { return s.Nodes }),
		gauge("gpuplane_extender_cards", "Cards of the known nodes.", func(s cache.Sizes) int64 { return s.Cards }),
		gauge("gpuplane_extender_bound_pods", "Bound pods holding cards or host resources, as the informer shows them.", func(s cache.Sizes) int64 { return s.BoundPods }),
		gauge("gpuplane_extender_assumed_pods", "Pods the extender bound that the informer has not shown bound yet.", func(s cache.Sizes) int64 { return s.AssumedPods }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
