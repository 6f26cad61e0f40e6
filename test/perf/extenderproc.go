package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
)

// ExtenderServerOptions say how to run the extender under measurement.
type ExtenderServerOptions struct {
	// Kubeconfig or Server (a plain-HTTP API server such as FakeAPI) is
	// where the informers list and watch. One is required.
	Kubeconfig string
	Server     string
	// Policy is the placement policy. Default: the extender's ("auto").
	Policy string
	// QPS and Burst of the extender's API client. Default: the
	// extender's (100 and 200).
	QPS   float32
	Burst int
}

// ExtenderReady is the line the extender process prints once its informers
// have synced.
type ExtenderReady struct {
	// Address serves the extender, Debug /debug/pprof/ and /debug/heap.
	Address     string  `json:"address"`
	Debug       string  `json:"debug"`
	SyncSeconds float64 `json:"syncSeconds"`
	Nodes       int64   `json:"nodes"`
	Cards       int64   `json:"cards"`
	BoundPods   int64   `json:"boundPods"`
}

// ServeExtender runs gpuplane's extender exactly as the extender program
// does (extender.Run with the program's default options), on a free
// loopback port, and beside it a debug server with /debug/pprof/ and
// /debug/heap. Once the extender reports ready (its informers have synced)
// it prints an ExtenderReady line on ready. It returns when ctx ends.
func ServeExtender(ctx context.Context, so ExtenderServerOptions, ready io.Writer) error {
	o := extender.DefaultOptions()
	var d extender.Deps
	switch {
	case so.Kubeconfig != "":
		o.Kubeconfig = so.Kubeconfig
	case so.Server != "":
		cfg := &rest.Config{Host: so.Server, QPS: o.KubeQPS, Burst: o.KubeBurst, UserAgent: "gpuplane-extender"}
		if so.QPS > 0 {
			cfg.QPS = so.QPS
		}
		if so.Burst > 0 {
			cfg.Burst = so.Burst
		}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("creating the API client: %w", err)
		}
		d.Client = client
	default:
		return errors.New("the extender needs --kubeconfig or --server to find the API server")
	}
	if so.Policy != "" {
		o.Policy = so.Policy
	}
	if so.QPS > 0 {
		o.KubeQPS = so.QPS
	}
	if so.Burst > 0 {
		o.KubeBurst = so.Burst
	}
	var err error
	if d.Listener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("listening for the extender: %w", err)
	}
	o.Listen = d.Listener.Addr().String()
	d.Registry = prometheus.NewRegistry()
	d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	debugLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		d.Listener.Close()
		return fmt.Errorf("listening for the debug server: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/heap", serveHeap)
	debug := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = debug.Serve(debugLn) }()
	defer debug.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	ran := make(chan error, 1)
	go func() { ran <- extender.Run(ctx, o, d) }()
	if err := waitReady(ctx, "http://"+o.Listen+"/readyz", ran); err != nil {
		return err
	}
	line := ExtenderReady{Address: o.Listen, Debug: debugLn.Addr().String(), SyncSeconds: time.Since(start).Seconds()}
	line.Nodes, line.Cards, line.BoundPods = gauge(d.Registry, "gpuplane_extender_nodes"),
		gauge(d.Registry, "gpuplane_extender_cards"), gauge(d.Registry, "gpuplane_extender_bound_pods")
	raw, _ := json.Marshal(line)
	if _, err := fmt.Fprintf(ready, "%s\n", raw); err != nil {
		return fmt.Errorf("announcing readiness: %w", err)
	}
	if err := <-ran; err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Extender stopped")
	return nil
}

// waitReady polls url until it answers 200, the extender stops or ctx ends.
func waitReady(ctx context.Context, url string, ran <-chan error) error {
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-ran:
			return fmt.Errorf("the extender stopped before it was ready: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// gauge reads the value of a gauge without labels from reg; -1 when absent.
func gauge(reg prometheus.Gatherer, name string) int64 {
	families, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 && f.GetMetric()[0].GetGauge() != nil {
			return int64(f.GetMetric()[0].GetGauge().GetValue())
		}
	}
	return -1
}

// HeapStats is what /debug/heap answers: the Go heap next to the RSS the
// parent reads from /proc.
type HeapStats struct {
	HeapLiveMiB   float64 `json:"heapLiveMiB"`
	HeapMappedMiB float64 `json:"heapMappedMiB"`
	Goroutines    int     `json:"goroutines"`
}

func serveHeap(w http.ResponseWriter, _ *http.Request) {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(samples)
	val := func(i int) float64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return float64(samples[i].Value.Uint64()) / (1 << 20)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(HeapStats{
		HeapLiveMiB:   val(0),
		HeapMappedMiB: val(1) + val(2) + val(3),
		Goroutines:    runtime.NumGoroutine(),
	})
}
