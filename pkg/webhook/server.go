package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// Paths the webhooks are served at; the webhook configurations name them.
const (
	PathMutatePod         = "/mutate-v1-pod"
	PathValidateWorkloads = "/validate-workloads"
)

// HandlerOptions say what the webhook handlers need.
type HandlerOptions struct {
	// Catalog resolves requests. Required.
	Catalog *catalog.Catalog
	// Mutate says how pods are mutated; the validator uses the same.
	Mutate Options
	// Metrics records every request. Default: nil, nothing recorded.
	Metrics *Metrics
	// Logger is the base logger of every request. Default: klog.Background(),
	// the program's logger.
	Logger logr.Logger
}

// NewHandler returns the webhook's HTTP handler: the pod mutator at PathMutatePod and
// the workload validator at PathValidateWorkloads, each decoding AdmissionReview v1
// (or v1beta1) and answering in kind.
func NewHandler(o HandlerOptions) (http.Handler, error) {
	if o.Catalog == nil {
		return nil, errors.New("the webhook handlers need a catalog")
	}
	dec, err := NewDecoder()
	if err != nil {
		return nil, fmt.Errorf("building the webhook decoder: %w", err)
	}
	if o.Logger.GetSink() == nil {
		o.Logger = klog.Background()
	}
	mux := http.NewServeMux()
	for path, h := range map[string]admission.Handler{
		PathMutatePod:         &PodMutator{Catalog: o.Catalog, Options: o.Mutate, Metrics: o.Metrics},
		PathValidateWorkloads: &WorkloadValidator{Catalog: o.Catalog, Options: o.Mutate, Decoder: dec, Metrics: o.Metrics},
	} {
		// Panics are recovered (and counted) by our handlers already; the
		// admission.Webhook recovery stays as the last line.
		hook, err := admission.StandaloneWebhook(&admission.Webhook{Handler: h},
			admission.StandaloneOptions{Logger: o.Logger.WithValues("webhook", path)})
		if err != nil {
			return nil, fmt.Errorf("building the webhook at %s: %w", path, err)
		}
		mux.Handle(path, hook)
	}
	return mux, nil
}

// TLSConfig is the webhook server's TLS (served by httpserver.Serve): 1.2 at least, with only AEAD ciphers and
// forward secrecy for 1.2 (1.3 suites are all of that already), HTTP/1.1 only.
// getCert supplies the certificate on every handshake, so a renewed one is served
// without a restart.
func TLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		// HTTP/2 is left out: the API server speaks HTTP/1.1 to webhooks just as well,
		// and it keeps HTTP/2's denial-of-service surface (rapid reset) away.
		NextProtos:     []string{"http/1.1"},
		GetCertificate: getCert,
	}
}
