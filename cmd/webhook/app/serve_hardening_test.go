package app

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// TestServeListenersHardened starts the program's server as its Deployment
// does (TLS port, metrics and probes on ports of their own) and checks each
// listener from outside: the TLS port refuses TLS 1.0 and 1.1 and the
// CBC suites, speaks only HTTP/1.1, and serves only the admission paths;
// metrics and probes are plain HTTP elsewhere and do not serve admission.
func TestServeListenersHardened(t *testing.T) {
	dir := t.TempDir()
	pool := writeServingCert(t, dir)
	cfg := serveOnLoopback(t, dir)
	tlsAddr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	plain := &http.Client{Timeout: 5 * time.Second}
	var last error
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		resp, err := plain.Get("http://" + cfg.HealthProbeBindAddress + "/readyz")
		if last = err; err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("not ready within 20s (%v): %v", err, last)
	}

	t.Run("handshakes", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			cfg     *tls.Config
			refused bool
		}{
			{"TLS 1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, true},
			{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}, true},
			{"TLS 1.2 CBC", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, true},
			{"TLS 1.2 RSA key exchange", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}}, true},
			{"TLS 1.2 ECDHE AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, false},
			{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.cfg.RootCAs, tc.cfg.ServerName = pool, "127.0.0.1"
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, tc.cfg)
				if err == nil {
					conn.Close()
				}
				if (err != nil) != tc.refused {
					t.Fatalf("handshake error %v, want refused %v", err, tc.refused)
				}
			})
		}
	})

	t.Run("only HTTP/1.1 on the TLS port", func(t *testing.T) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr,
			&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Fatalf("negotiated %q, want http/1.1", p)
		}
	})

	secure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer secure.CloseIdleConnections()
	status := func(t *testing.T, c *http.Client, url string) int {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("ports apart", func(t *testing.T) {
		for _, tc := range []struct {
			client *http.Client
			url    string
			want   int
		}{
			{secure, "https://" + tlsAddr + "/metrics", http.StatusNotFound},
			{secure, "https://" + tlsAddr + "/healthz", http.StatusNotFound},
			{secure, "https://" + tlsAddr + "/readyz", http.StatusNotFound},
			{plain, "http://" + cfg.MetricsBindAddress + "/metrics", http.StatusOK},
			{plain, "http://" + cfg.HealthProbeBindAddress + "/healthz", http.StatusOK},
			{plain, "http://" + cfg.HealthProbeBindAddress + "/mutate-v1-pod", http.StatusNotFound},
			{plain, "http://" + cfg.HealthProbeBindAddress + "/validate-workloads", http.StatusNotFound},
		} {
			if got := status(t, tc.client, tc.url); got != tc.want {
				t.Errorf("GET %s = %d, want %d", tc.url, got, tc.want)
			}
		}
		// No plain port answers an AdmissionReview.
		review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{}}}`
		for _, addr := range []string{cfg.MetricsBindAddress, cfg.HealthProbeBindAddress} {
			for _, path := range []string{"/mutate-v1-pod", "/validate-workloads"} {
				resp, err := plain.Post("http://"+addr+path, "application/json", strings.NewReader(review))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(body), `"response"`) {
					t.Errorf("POST %s%s answered an admission review: %s", addr, path, body)
				}
			}
		}
		// Plain HTTP on the TLS port gets no admission answer.
		resp, err := plain.Get("http://" + tlsAddr + "/mutate-v1-pod")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("plain HTTP on the TLS port: %d %q, want 400 or a closed connection", resp.StatusCode, body)
			}
		}
	})
}
