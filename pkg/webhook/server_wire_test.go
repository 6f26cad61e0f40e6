package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/gpuplane/gpuplane/internal/httpserver"
	"github.com/gpuplane/gpuplane/internal/wiretest"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// wireServer runs httpserver.Serve over TLS on 127.0.0.1 as the program does and
// returns its address, a pool trusting its certificate, and the function
// that stops it and waits until Serve has returned.
func wireServer(t *testing.T) (string, *x509.CertPool, func()) {
	t.Helper()
	now := time.Now()
	ca, err := newCA("wire-ca", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := newServingCert(ca, servingHosts{ips: []net.IP{net.ParseIP("127.0.0.1")}}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := serving.tlsCertificate()
	if err != nil {
		t.Fatal(err)
	}
	handler, err := NewHandler(HandlerOptions{Catalog: catalog.Default()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpserver.Serve(ctx, ln, handler, TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }))
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve after cancel: %v", err)
				}
			case <-time.After(httpserver.ShutdownGrace + 10*time.Second):
				t.Error("Serve did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return ln.Addr().String(), pool, stop
}

// TestWireBadInput sends what a confused or hostile client could send to the
// webhook's TLS port. Everything that reaches an admission path is answered
// with an AdmissionReview: a refusal with a 4xx code and a message for a
// body that is not a usable review, an answer in kind for a review of
// something the webhook does not handle. The server answers a good review
// afterwards, and once stopped leaves no goroutine behind.
func TestWireBadInput(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	addr, pool, stop := wireServer(t)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport}

	node := admissionReview(t, admissionv1.AdmissionRequest{
		UID: "node-1", Operation: admissionv1.Create,
		Kind:   metav1.GroupVersionKind{Version: "v1", Kind: "Node"},
		Object: k8sruntime.RawExtension{Raw: []byte(`{"metadata":{"name":"n","annotations":{"gpuplane.io/gpu":"1"}}}`)},
	})
	podAsNode := admissionReview(t, admissionv1.AdmissionRequest{
		UID: "pod-1", Operation: admissionv1.Create,
		Kind:   metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Object: k8sruntime.RawExtension{Raw: []byte(`{"kind":"Node","spec":{"containers":"not a list"}}`)},
	})
	badRequest := admissionReview(t, podRequest(t, makePod().withGPU("2(V100").obj()).AdmissionRequest)
	v1beta1 := bytes.Replace(admissionReview(t, podRequest(t, makePod().withGPU("1(T4)").obj()).AdmissionRequest),
		[]byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1)
	// Just over what controller-runtime reads of a review (7 MiB).
	huge := `{"request":{"uid":"big","object":{"metadata":{"name":"` + strings.Repeat("x", 7<<20) + `"}}}}`

	cases := []struct {
		name, method, path, contentType, body string
		// code is the HTTP status; for admission answers, the review's
		// result code when refused (0: allowed).
		code, reviewCode int
		contains         string
		apiVersion       string
	}{
		{name: "malformed json", method: "POST", path: PathMutatePod, contentType: "application/json", body: `{"request":`,
			code: 200, reviewCode: 400, contains: "unexpected end of JSON"},
		{name: "not a review", method: "POST", path: PathValidateWorkloads, contentType: "application/json", body: `[1,2]`,
			code: 200, reviewCode: 400},
		{name: "deeply nested", method: "POST", path: PathMutatePod, contentType: "application/json", body: strings.Repeat(`{"a":`, 20000),
			code: 200, reviewCode: 400},
		{name: "empty body", method: "POST", path: PathMutatePod, contentType: "application/json", body: ``,
			code: 200, reviewCode: 400, contains: "body is empty"},
		{name: "wrong content type", method: "POST", path: PathMutatePod, contentType: "text/yaml", body: string(badRequest),
			code: 200, reviewCode: 400, contains: "expected application/json"},
		{name: "body over the limit", method: "POST", path: PathMutatePod, contentType: "application/json", body: huge,
			code: 200, reviewCode: 413, contains: "too large"},
		{name: "a node sent to the pod webhook", method: "POST", path: PathMutatePod, contentType: "application/json", body: string(node),
			code: 200, contains: "mutates pods only", apiVersion: "admission.k8s.io/v1"},
		{name: "a pod whose object is not a pod", method: "POST", path: PathMutatePod, contentType: "application/json", body: string(podAsNode),
			code: 200, reviewCode: 400, contains: "decoding the pod"},
		{name: "a bad request refused with the input quoted", method: "POST", path: PathMutatePod, contentType: "application/json",
			body: string(badRequest), code: 200, reviewCode: 403, contains: `"2(V100"`},
		{name: "v1beta1 answered in kind", method: "POST", path: PathMutatePod, contentType: "application/json", body: string(v1beta1),
			code: 200, apiVersion: "admission.k8s.io/v1beta1"},
		{name: "get", method: "GET", path: PathMutatePod, code: 200, reviewCode: 400},
		{name: "unknown path", method: "POST", path: "/metrics", contentType: "application/json", body: `{}`, code: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := wiretest.Send(t, client, tc.method, "https://"+addr+tc.path, tc.contentType, tc.body)
			if code != tc.code {
				t.Fatalf("HTTP %d %q, want %d", code, body, tc.code)
			}
			if tc.code != http.StatusOK {
				return
			}
			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(body, &review); err != nil || review.Response == nil {
				t.Fatalf("answer %q is not an AdmissionReview with a response (%v)", body, err)
			}
			r := review.Response
			switch {
			case tc.reviewCode == 0 && !r.Allowed:
				t.Fatalf("refused: %+v", r.Result)
			case tc.reviewCode != 0 && (r.Allowed || r.Result == nil || int(r.Result.Code) != tc.reviewCode || r.Result.Message == ""):
				t.Fatalf("response %+v, want a refusal with code %d and a message", r, tc.reviewCode)
			}
			text := string(body)
			if r.Result != nil {
				text = r.Result.Message
			}
			if tc.contains != "" && !strings.Contains(text, tc.contains) {
				t.Fatalf("answer %q does not contain %q", text, tc.contains)
			}
			if tc.apiVersion != "" && review.APIVersion != tc.apiVersion {
				t.Fatalf("answered as %q, want %q", review.APIVersion, tc.apiVersion)
			}
		})
	}

	// The server is unharmed.
	good := admissionReview(t, podRequest(t, makePod().withGPU("1(T4)").obj()).AdmissionRequest)
	resp, err := client.Post("https://"+addr+PathMutatePod, "application/json", bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	err = json.NewDecoder(resp.Body).Decode(&review)
	resp.Body.Close()
	if err != nil || review.Response == nil || !review.Response.Allowed || len(review.Response.Patch) == 0 {
		t.Fatalf("a good pod after the bad input: %+v (%v)", review.Response, err)
	}

	transport.CloseIdleConnections()
	stop()
	wiretest.NoLeaks(t, ignore)
}

// TestWireSlowClients holds connections open without finishing a TLS
// handshake or a request: the server closes each after its timeouts
// (handshake and headers 10s, the whole request 30s) instead of keeping a
// goroutine and a socket per slow client for ever.
func TestWireSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the server's 30s read timeout")
	}
	ignore := goleak.IgnoreCurrent()
	addr, pool, stop := wireServer(t)
	cases := []struct {
		name string
		tls  bool
		sent string
	}{
		{name: "no handshake"},
		{name: "half a handshake", sent: "\x16\x03\x01\x00\xff\x01"},
		{name: "headers never finished", tls: true, sent: "POST " + PathMutatePod + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"},
		{name: "body never finished", tls: true,
			sent: "POST " + PathMutatePod + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"request\":"},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			closed, err := wireStall(addr, pool, tc.tls, tc.sent, 60*time.Second)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if !closed {
				t.Errorf("%s: the server kept the connection open for 60s", tc.name)
			}
		})
	}
	wg.Wait()
	stop()
	wiretest.NoLeaks(t, ignore)
}

// wireStall connects (over TLS when useTLS), writes sent, then reads until
// the server closes the connection (true) or limit passes (false).
func wireStall(addr string, pool *x509.CertPool, useTLS bool, sent string, limit time.Duration) (bool, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false, err
	}
	defer raw.Close()
	var conn net.Conn = raw
	if useTLS {
		tc := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err := tc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return false, err
		}
		if err := tc.Handshake(); err != nil {
			return false, err
		}
		conn = tc
	}
	_, closed, err := wiretest.Stall(conn, sent, limit)
	return closed, err
}
