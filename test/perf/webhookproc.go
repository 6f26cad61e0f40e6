package perf

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/internal/httpserver"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// WebhookReady is the line `perf serve-webhook` prints once it serves.
type WebhookReady struct {
	Port  int    `json:"port"`
	Debug string `json:"debug"`
}

// ServeWebhook serves the webhook the way the webhook program's server does
// (webhook.NewHandler with metrics, webhook.TLSConfig, httpserver.Serve) with
// the certificate in certDir, on a free loopback port, and beside it
// /debug/pprof/ for a CPU profile of the server alone. It prints a
// WebhookReady line and returns when ctx ends.
func ServeWebhook(ctx context.Context, certDir string, opts webhook.Options, ready io.Writer) error {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return fmt.Errorf("loading the serving certificate: %w", err)
	}
	metrics, err := webhook.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return err
	}
	handler, err := webhook.NewHandler(webhook.HandlerOptions{
		Catalog: catalog.Default(), Mutate: opts,
		Metrics: metrics, Logger: klog.FromContext(ctx),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	debugLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	debug := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = debug.Serve(debugLn) }()
	defer debug.Close()
	line, _ := json.Marshal(WebhookReady{Port: ln.Addr().(*net.TCPAddr).Port, Debug: debugLn.Addr().String()})
	if _, err := fmt.Fprintf(ready, "%s\n", line); err != nil {
		return err
	}
	getCert := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	return httpserver.Serve(ctx, ln, handler, webhook.TLSConfig(getCert))
}
