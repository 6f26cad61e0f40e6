package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
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

// serve listens on addr until ctx is done. bound, when set, learns the
// address actually bound (":0" in tests).
func serve(ctx context.Context, addr string, handler http.Handler, bound func(net.Addr)) (<-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %q: %w", addr, err)
	}
	if bound != nil {
		bound(ln.Addr())
	}
	// The ports are reachable from the pod network: a client that never
	// finishes a request, or idles on a kept-alive connection, is cut off
	// rather than holding a goroutine and a socket for ever.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 15 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			klog.FromContext(ctx).Error(err, "Shutting the HTTP server down")
		}
	}()
	klog.FromContext(ctx).Info("Serving metrics and health", "address", ln.Addr().String())
	return done, nil
}
