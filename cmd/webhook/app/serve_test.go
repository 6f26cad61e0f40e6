package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/gpuplane/gpuplane/internal/wiretest"
)

// writeServingCert writes a self-signed serving certificate for 127.0.0.1 as tls.crt
// and tls.key into dir and returns a pool trusting it.
func writeServingCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// serveOnLoopback runs Serve with the serving certificate in dir, the TLS
// port, metrics and probes each on a port of 127.0.0.1 the kernel picks,
// until the test ends; the test then fails if Serve does not return
// cleanly. The configuration returned holds the addresses Serve bound.
func serveOnLoopback(t *testing.T, dir string) Config {
	t.Helper()
	cfg := Config{}.Default()
	cfg.Host, cfg.Port, cfg.CertDir = "127.0.0.1", 0, dir
	cfg.MetricsBindAddress, cfg.HealthProbeBindAddress = "127.0.0.1:0", "127.0.0.1:0"
	bound, logger := wiretest.NewBoundLog(ktesting.NewLogger(t, ktesting.DefaultConfig))
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- Serve(ctx, cfg)
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	tlsAddr := bound.Addr(t, "Serving the admission webhook", exited, 20*time.Second)
	_, port, err := net.SplitHostPort(tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	cfg.MetricsBindAddress = bound.Addr(t, "Serving metrics", exited, 20*time.Second)
	cfg.HealthProbeBindAddress = bound.Addr(t, "Serving health probes", exited, 20*time.Second)
	return cfg
}

func TestServeWithCertDir(t *testing.T) {
	dir := t.TempDir()
	pool := writeServingCert(t, dir)
	cfg := serveOnLoopback(t, dir)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	get := func(url string) (int, string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	// Ready once the probes answer; bounded in time.
	var code int
	var last error
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		code, _, last = get("http://" + cfg.HealthProbeBindAddress + "/readyz")
		return last == nil && code == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("not ready within 20s (%v): %d %v", err, code, last)
	}
	if code, _, err := get("http://" + cfg.HealthProbeBindAddress + "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("healthz: %d %v", code, err)
	}

	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",
		"kind":{"version":"v1","kind":"Pod"},"resource":{"version":"v1","resource":"pods"},"operation":"CREATE",
		"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"gpuplane.io/gpu":"1(T4)"}},
		"spec":{"containers":[{"name":"c","image":"i"}]}}}}`
	resp, err := client.Post("https://"+net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))+"/mutate-v1-pod",
		"application/json", bytes.NewReader([]byte(review)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"uid":"u1"`) || !strings.Contains(string(body), `"patchType":"JSONPatch"`) {
		t.Errorf("answer: %s", body)
	}

	_, metrics, err := get("http://" + cfg.MetricsBindAddress + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`gpuplane_webhook_requests_total{path="/mutate-v1-pod",result="patched"} 1`,
		`gpuplane_webhook_request_duration_seconds_count{path="/mutate-v1-pod"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestServeFailsOnMissingCertificates(t *testing.T) {
	cfg := Config{}.Default()
	cfg.CertDir = t.TempDir()
	cfg.Host, cfg.Port = "127.0.0.1", 0
	cfg.MetricsBindAddress, cfg.HealthProbeBindAddress = "0", "0"
	if err := Serve(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--cert-dir") {
		t.Errorf("Serve = %v, want an error naming --cert-dir", err)
	}
}
