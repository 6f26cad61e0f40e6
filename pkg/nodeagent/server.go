package nodeagent

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newMetricsMux serves /metrics: the agent's own series, and the DCGM ones
// when it serves them.
func newMetricsMux(g prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}

// newHealthMux serves /healthz (liveness) and /readyz (readiness).
func newHealthMux(h *health) *http.ServeMux {
	mux := http.NewServeMux()
	probe := func(check func() error) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if err := check(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = fmt.Fprintln(w, "ok")
		}
	}
	mux.Handle("GET /healthz", probe(h.live))
	mux.Handle("GET /readyz", probe(h.ready))
	return mux
}
