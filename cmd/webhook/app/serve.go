package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/gpuplane/gpuplane/internal/httpserver"
	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/claimtemplates"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// Serve runs the webhook server, its certificates, metrics and probes until ctx ends
// or one of them fails.
func Serve(ctx context.Context, cfg Config) error {
	logger := klog.FromContext(ctx)
	cat, err := catalog.LoadFile(cfg.Catalog)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := webhook.NewMetrics(reg)
	if err != nil {
		return err
	}
	handler, err := webhook.NewHandler(webhook.HandlerOptions{
		Catalog: cat,
		Mutate:  webhook.Options{SchedulerName: cfg.SchedulerName, PlacementResource: corev1.ResourceName(cfg.PlacementResource)},
		Metrics: metrics,
		Logger:  logger.WithName("admission"),
	})
	if err != nil {
		return err
	}
	certs, err := newCertSource(cfg)
	if err != nil {
		return err
	}

	// Every listener is opened before anything runs (httpserver.OpenAll).
	servers, err := httpserver.OpenAll([]httpserver.Endpoint{
		{What: "the admission webhook", Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Handler: handler,
			TLS: webhook.TLSConfig(certs.get)},
		{What: "metrics", Addr: cfg.MetricsBindAddress, Optional: true,
			Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})},
		{What: "health probes", Addr: cfg.HealthProbeBindAddress, Optional: true, Handler: probes(map[string]healthz.Checker{
			"certificate": func(*http.Request) error { return certs.ready() },
		})},
	})
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return certs.run(ctx) })
	if cat.HasDRAPool() {
		// Pods of DRA pools name claim templates, which this program keeps
		// (docs/dra.md); every replica does, as creating and deleting them is
		// idempotent.
		client, err := apiClient(cfg)
		if err != nil {
			return err
		}
		g.Go(func() error { return claimtemplates.New(client, cat).Run(ctx, 2) })
	}
	httpserver.ServeAll(ctx, g, servers)
	logger.Info("Webhook configuration", "catalog", cfg.Catalog, "schedulerName", cfg.SchedulerName, "placementResource", cfg.PlacementResource, "selfSigned", cfg.SelfSigned)
	return g.Wait()
}

// probes serves /healthz (the process answers) and /readyz (every check passes).
func probes(ready map[string]healthz.Checker) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/healthz", http.StripPrefix("/healthz", &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}))
	mux.Handle("/healthz/", http.StripPrefix("/healthz", &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}))
	mux.Handle("/readyz", http.StripPrefix("/readyz", &healthz.Handler{Checks: ready}))
	mux.Handle("/readyz/", http.StripPrefix("/readyz", &healthz.Handler{Checks: ready}))
	return mux
}

// certSource supplies the serving certificate: from files (cert-manager or any other
// tool writes them) or from the self-signed Secret.
type certSource struct {
	get   func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	ready func() error
	run   func(ctx context.Context) error
}

func newCertSource(cfg Config) (certSource, error) {
	if !cfg.SelfSigned {
		w, err := certwatcher.New(filepath.Join(cfg.CertDir, "tls.crt"), filepath.Join(cfg.CertDir, "tls.key"))
		if err != nil {
			return certSource{}, fmt.Errorf("loading the serving certificate from --cert-dir %s: %w", cfg.CertDir, err)
		}
		return certSource{get: w.GetCertificate, ready: func() error { return nil }, run: w.Start}, nil
	}
	client, err := apiClient(cfg)
	if err != nil {
		return certSource{}, err
	}
	ss, err := webhook.NewSelfSigned(client, webhook.SelfSignedOptions{
		Namespace:          cfg.Namespace,
		SecretName:         cfg.SecretName,
		ServiceName:        cfg.ServiceName,
		WebhookConfigNames: cfg.WebhookConfigNames,
		ExtraDNSNames:      cfg.CertDNSNames,
		ExtraIPs:           cfg.CertIPs,
	})
	if err != nil {
		return certSource{}, err
	}
	return certSource{get: ss.GetCertificate, ready: ss.Ready, run: ss.Run}, nil
}

// apiClient is the webhook's client of the API server: --kubeconfig, $KUBECONFIG or
// the in-cluster configuration.
func apiClient(cfg Config) (kubernetes.Interface, error) {
	rest, err := program.RESTConfig(cfg.Kubeconfig, "gpuplane-webhook")
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("creating the API client: %w", err)
	}
	return client, nil
}
