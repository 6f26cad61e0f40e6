package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Deps are what Run takes from the world; each nil field is made from the
// options (a client from the kubeconfig, a listener on Listen, a fresh
// registry with the Go and process collectors, the real clock, a
// Prometheus client for the load URL).
type Deps struct {
	Client   kubernetes.Interface
	Listener net.Listener
	Registry *prometheus.Registry
	Clock    clock.WithTicker
	Querier  load.Querier
}

// shutdownGrace bounds how long in-flight requests may finish at exit.
const shutdownGrace = 10 * time.Second

// Run serves the extender until ctx ends: informers fill the state, the
// load source refreshes in the background, and the HTTP server answers
// kube-scheduler. Filter, prioritize and bind answer 503 until the
// informers have synced.
func Run(ctx context.Context, o Options, d Deps) error {
	if err := o.Validate(); err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	cat := catalog.Default()
	if o.Catalog != "" {
		var err error
		if cat, err = catalog.LoadFile(o.Catalog); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	voc := extender.VocabularyFrom(cat)
	if d.Clock == nil {
		d.Clock = clock.RealClock{}
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if d.Client == nil {
		client, err := newClient(o)
		if err != nil {
			return err
		}
		d.Client = client
	}
	policy, learner, err := extender.NewPolicy(o.Policy)
	if err != nil {
		return err
	}
	state := extender.NewState(voc, d.Clock, o.AssumeTTL, logger.WithName("state"))
	metrics, err := extender.NewMetrics(d.Registry, state)
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	var observe func(*placement.Request)
	if learner != nil {
		observe = learner.Observe
	}
	informers, err := extender.NewInformers(d.Client, state, observe)
	if err != nil {
		return err
	}
	var loads *load.Source
	if o.Load.URL == "" {
		// Said once here and on /metrics (load_stale 1), not per request.
		logger.Info("No GPU load: --prometheus-url is empty, so scores ignore load")
		if err := load.RegisterAbsent(d.Registry); err != nil {
			return err
		}
	} else {
		if d.Querier == nil {
			if d.Querier, err = load.NewQuerier(o.Load.URL); err != nil {
				return err
			}
		}
		if loads, err = load.NewSource(o.Load, d.Querier, d.Clock, d.Registry); err != nil {
			return err
		}
	}
	ext, err := extender.New(extender.Config{State: state, Vocabulary: voc, Policy: policy, Load: loads, Client: d.Client,
		Pods: informers, Metrics: metrics, Clock: d.Clock})
	if err != nil {
		return err
	}
	if d.Listener == nil {
		if d.Listener, err = net.Listen("tcp", o.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", o.Listen, err)
		}
	}
	servers := []*http.Server{extender.NewServer(ext.Handler(extender.HandlerOptions{
		MaxBodyBytes: o.MaxBodyBytes, Ready: informers.Synced, Gatherer: d.Registry, Logger: logger.WithName("http"),
	}), extender.ServerOptions{Addr: d.Listener.Addr().String()})}
	listeners := []net.Listener{d.Listener}
	for _, extra := range []struct {
		addr string
		h    http.Handler
	}{
		{o.MetricsBindAddress, extender.MetricsHandler(d.Registry)},
		{o.ProbeBindAddress, extender.ProbeHandler(informers.Synced)},
	} {
		if !enabled(extra.addr) {
			continue
		}
		ln, err := net.Listen("tcp", extra.addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("listening on %s: %w", extra.addr, err)
		}
		servers = append(servers, extender.NewServer(extra.h, extender.ServerOptions{Addr: extra.addr}))
		listeners = append(listeners, ln)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, 3)
	go func() { informers.Run(ctx); done <- struct{}{} }()
	go func() {
		ticker := d.Clock.NewTicker(extender.ExpireEvery(o.AssumeTTL))
		defer ticker.Stop()
		state.RunExpiry(ctx, ticker.C(), metrics)
		done <- struct{}{}
	}()
	go func() {
		if loads != nil {
			_ = loads.Run(ctx)
		}
		done <- struct{}{}
	}()
	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { serveErr <- srv.Serve(listeners[i]) }()
	}
	logger.Info("Serving the scheduler extender", "address", d.Listener.Addr().String(), "policy", policy.Name(),
		"prometheus", o.Load.URL != "", "metrics", o.MetricsBindAddress, "probes", o.ProbeBindAddress)
	go func() {
		if informers.WaitForSync(ctx) {
			logger.Info("Cluster state synced", "sizes", state.Sizes())
		}
	}()

	var err2 error
	select {
	case <-ctx.Done():
	case err2 = <-serveErr:
		err2 = fmt.Errorf("HTTP server: %w", err2)
	}
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer stop()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(err, "Shutting an HTTP server down", "address", srv.Addr)
		}
	}
	cancel()
	for range 3 {
		<-done
	}
	logger.Info("Scheduler extender stopped")
	return err2
}

// newClient builds the API client the way the webhook and the node agent
// do: --kubeconfig, else $KUBECONFIG, else the in-cluster service account.
func newClient(o Options) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the API server configuration (--kubeconfig %q, $KUBECONFIG, in-cluster): %w", o.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = o.KubeQPS, o.KubeBurst
	cfg.UserAgent = "gpuplane-extender"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the API client: %w", err)
	}
	return client, nil
}

// StateView is the JSON the server answers GET /state with, for the
// program's clients (tools, end-to-end tests).
type StateView = extender.StateView
