package webhook

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// tlsServer serves the webhook handler on 127.0.0.1 with a fresh CA, as
// wireServer does, and returns its address and a client pool trusting it.
func tlsServer(t *testing.T) (string, *x509.CertPool) {
	addr, pool, _ := wireServer(t)
	return addr, pool
}

func admissionReview(t testing.TB, req admissionv1.AdmissionRequest) []byte {
	t.Helper()
	return mustJSON(t, admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &req,
	})
}

func TestServeAdmissionReviewOverTLS(t *testing.T) {
	addr, pool := tlsServer(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}},
		ForceAttemptHTTP2: true,
	}}
	defer client.CloseIdleConnections()
	body := admissionReview(t, podRequest(t, makePod().withGPU("1(T4)").obj()).AdmissionRequest)
	resp, err := client.Post("https://"+addr+PathMutatePod, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 1 {
		t.Errorf("protocol %s, want HTTP/1.1", resp.Proto)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS state %+v, want 1.2 or later", resp.TLS)
	}
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		t.Fatal(err)
	}
	if review.Response == nil || !review.Response.Allowed || len(review.Response.Patch) == 0 || review.Response.UID != "uid-1" {
		t.Errorf("response = %+v, want an allowed patch for uid-1", review.Response)
	}
	if review.Kind != "AdmissionReview" || review.APIVersion != "admission.k8s.io/v1" {
		t.Errorf("response kind %s/%s, want admission.k8s.io/v1 AdmissionReview", review.APIVersion, review.Kind)
	}

	resp, err = client.Post("https://"+addr+PathValidateWorkloads, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("validator answered %s", resp.Status)
	}
}

func TestServeRefusesOldTLS(t *testing.T) {
	addr, pool := tlsServer(t)
	for _, tc := range []struct {
		name    string
		cfg     *tls.Config
		wantErr bool
	}{
		{"TLS 1.1", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, true},
		{"TLS 1.2 with a CBC cipher", &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, true},
		{"TLS 1.2 with AES-GCM", &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, false},
		{"TLS 1.3", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tc.cfg)
			if err == nil {
				conn.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("handshake error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestNewHandlerNeedsCatalog(t *testing.T) {
	if _, err := NewHandler(HandlerOptions{}); err == nil {
		t.Error("NewHandler without a catalog did not fail")
	}
}
