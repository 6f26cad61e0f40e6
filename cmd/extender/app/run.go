package app

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/internal/httpserver"
	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/dra"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/extender/ui"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Deps are what Run takes from the world; each nil field is made from the
// options (a client from the kubeconfig, a listener on Listen, a fresh
// registry with the Go and process collectors, the real clock, a
// Prometheus client for the load URL, a listener on UIAddress).
type Deps struct {
	Client   kubernetes.Interface
	Listener net.Listener
	Registry *prometheus.Registry
	Clock    clock.WithTicker
	Querier  load.Querier
	// UIListener, when set, serves the web page instead of a listener
	// opened on Options.UIAddress (tests pass their own).
	UIListener net.Listener
}

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
	voc := request.VocabularyFrom(cat)
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
	state := cache.NewState(voc, d.Clock, o.AssumeTTL, logger.WithName("state"))
	metrics, err := extender.NewMetrics(d.Registry, state)
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	var observe func(*placement.Request)
	if learner != nil {
		observe = learner.Observe
	}
	sightings := cache.NewSightings(observe, d.Clock)
	informers, err := cache.NewInformers(d.Client, state, sightings)
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
	// Pods of DRA pools are filtered and scored on the devices the DRA
	// driver publishes, when the catalog has such a pool (docs/dra.md).
	var draView *dra.View
	var draInformers *dra.Informers
	if cat.HasDRAPool() {
		draView = dra.NewView(dra.NewTyper(cat), logger.WithName("dra"))
		if draInformers, err = dra.NewInformers(d.Client, draView); err != nil {
			return err
		}
	}
	uiOn := d.UIListener != nil || !httpserver.Disabled(o.UIAddress)
	var refused *refusals.Record
	if uiOn {
		refused = refusals.New(d.Clock, refusals.DefaultMaxPods)
	}
	requeuer := extender.NewRequeuer(d.Client, state, d.Clock, extender.DefaultRequeueWindow, logger.WithName("requeue"), metrics.Requeued)
	ext, err := extender.New(extender.Config{State: state, Vocabulary: voc, Policy: policy, Load: loads, Client: d.Client,
		Pods: informers, Metrics: metrics, Clock: d.Clock, Sightings: sightings, Refusals: refused, DRA: draView,
		Requeuer: requeuer})
	if err != nil {
		return err
	}
	endpoints := []httpserver.Endpoint{
		{What: "the scheduling API", Addr: o.Listen, Listener: d.Listener, Handler: ext.Handler(extender.HandlerOptions{
			MaxBodyBytes: o.MaxBodyBytes, Ready: informers.Synced, Gatherer: d.Registry, Logger: logger.WithName("http"),
		})},
		{What: "metrics", Addr: o.MetricsBindAddress, Optional: true, Handler: extender.MetricsHandler(d.Registry)},
		{What: "health probes", Addr: o.ProbeBindAddress, Optional: true, Handler: extender.ProbeHandler(informers.Synced)},
	}
	if uiOn {
		cfg := ui.Config{State: state, Pending: informers, Refusals: refused, Ready: informers.Synced,
			Vocabulary: voc, Clock: d.Clock, Logger: logger.WithName("ui")}
		if loads != nil {
			cfg.Load = loads
		}
		page, err := ui.New(cfg)
		if err != nil {
			return err
		}
		endpoints = append(endpoints, httpserver.Endpoint{What: "the web page", Addr: o.UIAddress, Listener: d.UIListener, Handler: page.Handler()})
	}
	// Every listener is opened before anything runs (httpserver.OpenAll).
	servers, err := httpserver.OpenAll(endpoints)
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { informers.Run(ctx); return nil })
	if draInformers != nil {
		g.Go(func() error {
			draInformers.Start(ctx)
			<-ctx.Done()
			draInformers.Shutdown()
			return nil
		})
	}
	g.Go(func() error {
		ticker := d.Clock.NewTicker(cache.ExpireEvery(o.AssumeTTL))
		defer ticker.Stop()
		state.RunExpiry(ctx, ticker.C(), metrics.Expired)
		return nil
	})
	g.Go(func() error { requeuer.Run(ctx); return nil })
	if loads != nil {
		g.Go(func() error { return loads.Run(ctx) })
	}
	httpserver.ServeAll(ctx, g, servers)
	logger.Info("Scheduler extender configuration", "policy", policy.Name(), "prometheus", o.Load.URL)
	go func() {
		if informers.WaitForSync(ctx) {
			logger.Info("Cluster state synced", "sizes", state.Sizes())
		}
	}()
	err = g.Wait()
	logger.Info("Scheduler extender stopped")
	return err
}

// newClient builds the API client the way the webhook and the node agent
// do: --kubeconfig, else $KUBECONFIG, else the in-cluster service account.
func newClient(o Options) (kubernetes.Interface, error) {
	cfg, err := program.RESTConfig(o.Kubeconfig, "gpuplane-extender")
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = o.KubeQPS, o.KubeBurst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the API client: %w", err)
	}
	return client, nil
}
