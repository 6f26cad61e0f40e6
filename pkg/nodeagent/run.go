package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/internal/httpserver"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/fakegpu"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/metrics"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/runtime"
)

// Deps are what the agent and check take from the world; main fills them,
// tests fake them. Nil fields take the noted defaults.
type Deps struct {
	// NVML is the NVML library (nvml.New() in main); unused with
	// Options.FakeDevices. Required otherwise.
	NVML nvml.Interface
	// Client talks to the API server; required by the agent.
	Client kubernetes.Interface
	// Clock drives resyncs, backoff and condition times; default real.
	Clock clock.WithTicker
	// Registry receives the agent's metrics; default a new one with the Go
	// and process collectors.
	Registry *prometheus.Registry
	// HTTPClient probes the exporter; default one with Options.ExporterTimeout.
	HTTPClient *http.Client
	// Runner restarts container runtimes; default runtime.ExecRunner.
	Runner runtime.Runner
	// Out receives runtime diffs (--dry-run) and check's checklist;
	// default io.Discard.
	Out io.Writer
	// Bound learns the addresses the HTTP servers listen on.
	Bound func(net.Addr)
}

func (d Deps) withDefaults(o Options) Deps {
	if d.Clock == nil {
		d.Clock = clock.RealClock{}
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: o.ExporterTimeout}
	}
	if d.Runner == nil {
		d.Runner = runtime.ExecRunner{}
	}
	if d.Out == nil {
		d.Out = io.Discard
	}
	return d
}

// parts are what both the agent and check are made of.
type parts struct {
	catalog    *catalog.Catalog
	discoverer *discovery.Discoverer
	checklist  *Checklist
	metrics    *metrics.Agent
}

// build loads the catalog and the cards' source and assembles the
// checklist. fixHint ends runtime messages of files that need a change.
func build(opts Options, deps Deps, fixHint string) (*parts, error) {
	cat, err := catalog.LoadFile(opts.CatalogFile)
	if err != nil {
		return nil, fmt.Errorf("loading the catalog: %w", err)
	}
	lib := deps.NVML
	if opts.FakeDevices != "" {
		cards, err := fakegpu.Load(opts.FakeDevices)
		if err != nil {
			return nil, fmt.Errorf("--fake-devices: %w", err)
		}
		fake, err := fakegpu.New(cards, cat, opts.NodeName)
		if err != nil {
			return nil, fmt.Errorf("--fake-devices: %w", err)
		}
		lib = fake
	}
	if lib == nil {
		return nil, errors.New("no NVML library and no --fake-devices")
	}
	m := metrics.NewAgent(deps.Registry)
	disc := discovery.NewDiscoverer(lib)
	rc := opts.runtimeConfig()
	rc.FixHint = fixHint
	rc.Diffs = deps.Out
	configurator := &runtime.Configurator{Spec: rc.Spec, Runner: deps.Runner, Restart: opts.RestartRuntime}
	observe := func(kind string, wrote, restartTried, restarted bool) {
		if wrote {
			m.RuntimeWritten(kind)
		}
		if restartTried {
			m.RuntimeRestarted(kind, restarted)
		}
	}
	cl := &Checklist{
		catalog:         cat,
		discoverer:      disc,
		runtime:         newRuntimeStep(rc, configurator, observe),
		http:            deps.HTTPClient,
		exporterURL:     opts.ExporterURL,
		serveMetrics:    opts.ServeMetrics,
		vgpu:            opts.VGPU,
		devicePluginDir: opts.DevicePluginDir,
	}
	return &parts{catalog: cat, discoverer: disc, checklist: cl, metrics: m}, nil
}

// Run runs the agent until ctx is done: passes over the node, the HTTP
// server, and the DCGM metrics when enabled. It returns an error only for
// bad options or a server that cannot listen; problems of the node are
// reported on the node and retried.
func Run(ctx context.Context, opts Options, deps Deps) error {
	opts = opts.Default()
	if err := opts.Validate(true); err != nil {
		return err
	}
	if deps.Client == nil {
		return errors.New("no Kubernetes client")
	}
	deps = deps.withDefaults(opts)
	hint := "the agent writes it when started with --configure-runtime"
	switch {
	case opts.DryRun:
		hint = "dry run: the diff is printed, nothing written"
	case opts.ApplyRuntime:
		hint = ""
	}
	p, err := build(opts, deps, hint)
	if err != nil {
		return err
	}
	defer func() {
		if err := p.discoverer.Close(); err != nil {
			klog.FromContext(ctx).Error(err, "Closing NVML")
		}
	}()
	if opts.ServeMetrics {
		deps.Registry.MustRegister(metrics.NewDCGMCollector(p.discoverer, opts.NodeName, p.checklist.DCGMServed, p.metrics.NVMLErrors))
	}
	agent := newAgent(opts, deps.Client, p.checklist, p.catalog, deps.Clock, p.metrics)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served, err := startServers(ctx, opts, deps, agent.health)
	if err != nil {
		return err
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Run(ctx) }()
	select {
	case err = <-agentDone:
	case err = <-served:
		cancel()
		<-agentDone
		if err != nil {
			err = fmt.Errorf("HTTP server: %w", err)
		}
	}
	return err
}

// startServers serves /metrics and the probes, on one address or two, with
// httpserver's endpoints: every listener is opened before any serves, and
// each logs the address it bound ("Serving metrics", "Serving health probes",
// or "Serving metrics and health" on a shared address). The channel yields
// the first server error, or nil once every server has stopped after ctx
// ended; it yields nothing when no server runs.
func startServers(ctx context.Context, opts Options, deps Deps, h *health) (<-chan error, error) {
	metricsMux, healthMux := newMetricsMux(deps.Registry), newHealthMux(h)
	endpoints := []httpserver.Endpoint{
		{What: "metrics", Addr: opts.MetricsBindAddress, Optional: true, Handler: metricsMux},
		{What: "health probes", Addr: opts.HealthProbeBindAddress, Optional: true, Handler: healthMux},
	}
	if !httpserver.Disabled(opts.MetricsBindAddress) && opts.MetricsBindAddress == opts.HealthProbeBindAddress {
		both := http.NewServeMux()
		both.Handle("GET /metrics", metricsMux)
		both.Handle("GET /healthz", healthMux)
		both.Handle("GET /readyz", healthMux)
		endpoints = []httpserver.Endpoint{{What: "metrics and health", Addr: opts.MetricsBindAddress, Handler: both}}
	}
	servers, err := httpserver.OpenAll(endpoints)
	if err != nil {
		return nil, err
	}
	errs := make(chan error, 1)
	if len(servers) == 0 {
		return errs, nil
	}
	if deps.Bound != nil {
		for _, s := range servers {
			deps.Bound(s.Listener.Addr())
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	httpserver.ServeAll(ctx, g, servers)
	go func() { errs <- g.Wait() }()
	return errs, nil
}
