package webhook

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Results of an admission request, the "result" label of the request counter.
const (
	ResultAllowed = "allowed" // admitted unchanged
	ResultPatched = "patched" // admitted with a patch
	ResultDenied  = "denied"  // refused, with a message for the submitter
	ResultErrored = "errored" // the request could not be handled (bad body, panic)
)

// Metrics counts and times admission requests. A nil *Metrics records nothing, for
// tests and benchmarks that do not look at metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	refusals *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics creates the webhook's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_webhook_requests_total",
			Help: "Admission requests handled, by webhook path and result (allowed, patched, denied, errored).",
		}, []string{"path", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_webhook_refusals_total",
			Help: "Admission requests refused or failed, by webhook path and reason " +
				"(syntax, catalog, container, role, conflict, decode, panic, other).",
		}, []string{"path", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gpuplane_webhook_request_duration_seconds",
			Help: "Time to handle one admission request (decode, decide, build the patch), by webhook path.",
			// 10µs .. ~0.66s: a request normally takes tens of microseconds; the API
			// server gives up after the configured timeout (seconds).
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 9),
		}, []string{"path"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.refusals, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the webhook metrics: %w", err)
		}
	}
	for _, path := range []string{PathMutatePod, PathValidateWorkloads} {
		for _, result := range []string{ResultAllowed, ResultPatched, ResultDenied, ResultErrored} {
			m.requests.WithLabelValues(path, result)
		}
	}
	return m, nil
}

// observe records one handled request; reason is empty unless it was refused or failed.
func (m *Metrics) observe(path string, resp admission.Response, reason string, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(path, result(resp)).Inc()
	if reason != "" {
		m.refusals.WithLabelValues(path, reason).Inc()
	}
	m.latency.WithLabelValues(path).Observe(took.Seconds())
}

func result(resp admission.Response) string {
	switch {
	case resp.Allowed && (len(resp.Patches) > 0 || len(resp.Patch) > 0):
		return ResultPatched
	case resp.Allowed:
		return ResultAllowed
	case resp.Result != nil && resp.Result.Code != http.StatusForbidden:
		// admission.Denied answers 403; admission.Errored carries the failure's code.
		return ResultErrored
	default:
		return ResultDenied
	}
}
