package nodeagent

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/internal/httpserver"
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

// serve listens on addr and serves handler with httpserver.Serve until ctx
// is done; the channel yields its result. bound, when set, learns the
// address actually bound (":0" in tests).
func serve(ctx context.Context, addr string, handler http.Handler, bound func(net.Addr)) (<-chan error, error) {
	ln, err := httpserver.Listen("metrics and health", addr)
	if err != nil {
		return nil, err
	}
	if bound != nil {
		bound(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- httpserver.Serve(ctx, ln, handler, nil) }()
	klog.FromContext(ctx).Info("Serving metrics and health", "address", ln.Addr().String())
	return done, nil
}
