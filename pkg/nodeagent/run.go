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
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

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

// startServers serves /metrics and the probes, on one address or two; the
// channel yields the first server error.
func startServers(ctx context.Context, opts Options, deps Deps, h *health) (<-chan error, error) {
	off := func(addr string) bool { return addr == "" || addr == "0" }
	metricsMux, healthMux := newMetricsMux(deps.Registry), newHealthMux(h)
	type server struct {
		addr    string
		handler http.Handler
	}
	var servers []server
	switch {
	case !off(opts.MetricsBindAddress) && opts.MetricsBindAddress == opts.HealthProbeBindAddress:
		both := http.NewServeMux()
		both.Handle("GET /metrics", metricsMux)
		both.Handle("GET /healthz", healthMux)
		both.Handle("GET /readyz", healthMux)
		servers = append(servers, server{opts.MetricsBindAddress, both})
	default:
		if !off(opts.MetricsBindAddress) {
			servers = append(servers, server{opts.MetricsBindAddress, metricsMux})
		}
		if !off(opts.HealthProbeBindAddress) {
			servers = append(servers, server{opts.HealthProbeBindAddress, healthMux})
		}
	}
	errs := make(chan error, len(servers))
	for _, s := range servers {
		done, err := serve(ctx, s.addr, s.handler, deps.Bound)
		if err != nil {
			return nil, err
		}
		go func() { errs <- <-done }()
	}
	return errs, nil
}
