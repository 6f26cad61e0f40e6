package perf

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/gpuplane/internal/wiretest"
	"github.com/gpuplane/gpuplane/pkg/api"
)

// WebhookLoadOptions say how to load the webhook.
type WebhookLoadOptions struct {
	// Binary is the webhook program (cmd/webhook). Required.
	Binary string
	// Concurrency lists the numbers of connections to measure with, each
	// sending one review after the other. Default 1 and 4.
	Concurrency []int
	// Duration of one measured window, after Warmup. Default 5s and 1s.
	Duration, Warmup time.Duration
	// MaxRequests bounds one window's reviews whatever its duration.
	// Default 1,000,000.
	MaxRequests int
	// Repeats is the number of windows per concurrency. Default 3.
	Repeats int
	// GoalConcurrency is the concurrency the goals (>= 5,000 reviews/s,
	// p99 < 5 ms) are judged at. Default 4.
	GoalConcurrency int
	// Request is the GPU request of the pods. Default "2(V100|A100)".
	Request string
	// ProfileSeconds, when not 0, adds a CPU profile of the webhook's server
	// code under load at GoalConcurrency, taken from `perf serve-webhook`
	// (the program has no profiling endpoint).
	ProfileSeconds int
	RunEnv
}

func (o *WebhookLoadOptions) setDefaults() error {
	if o.Binary == "" {
		return errors.New("the webhook load needs the webhook program")
	}
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{1, 4}
	}
	o.Duration = cmp.Or(o.Duration, 5*time.Second)
	o.Warmup = cmp.Or(o.Warmup, time.Second)
	o.MaxRequests = cmp.Or(o.MaxRequests, 1_000_000)
	o.Repeats = cmp.Or(o.Repeats, 3)
	o.GoalConcurrency = cmp.Or(o.GoalConcurrency, 4)
	o.Request = cmp.Or(o.Request, "2(V100|A100)")
	return o.RunEnv.setDefaults("webhook load")
}

// RunWebhookLoad starts the webhook program with a fresh certificate on a
// free loopback port and sends it AdmissionReviews of a typical GPU pod over
// HTTPS with keep-alive, measuring reviews per second and latency.
func RunWebhookLoad(ctx context.Context, o WebhookLoadOptions) ([]Figure, []string, []string, error) {
	figs, notes, certDir, roots, bodies, err := o.measure(ctx)
	if err != nil || o.ProfileSeconds == 0 {
		return figs, notes, nil, err
	}
	profile, err := o.profile(ctx, certDir, roots, bodies)
	if err != nil {
		return nil, nil, nil, err
	}
	return figs, notes, []string{profile}, nil
}

// measure loads the webhook program.
func (o *WebhookLoadOptions) measure(ctx context.Context) ([]Figure, []string, string, *x509.CertPool, [][]byte, error) {
	if err := o.setDefaults(); err != nil {
		return nil, nil, "", nil, nil, err
	}
	certDir := filepath.Join(o.LogDir, "webhook-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, nil, "", nil, nil, err
	}
	cert, err := writeLoopbackCert(certDir, time.Now())
	if err != nil {
		return nil, nil, "", nil, nil, err
	}
	logPath := filepath.Join(o.LogDir, "webhook.log")
	c, stdout, err := startChild("webhook", o.Binary, []string{"serve",
		"--host", "127.0.0.1", "--port", "0", "--cert-dir", certDir,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--scheduler-name", "gpuplane",
	}, logPath)
	if err != nil {
		return nil, nil, "", nil, nil, err
	}
	defer c.stop(10 * time.Second)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	// The kernel picks the port; the webhook logs the address it listens on.
	addr, err := wiretest.LoggedAddr(logPath, 0, "Serving the admission webhook", c.exited, 30*time.Second)
	if err != nil {
		return nil, nil, "", nil, nil, err
	}

	bodies, err := reviewBodies(o.Request, 64)
	if err != nil {
		return nil, nil, "", nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	url := "https://" + addr + "/mutate-v1-pod"
	if err := waitWebhook(ctx, c, url, roots, bodies[0]); err != nil {
		return nil, nil, "", nil, nil, err
	}

	var figs []Figure
	var notes []string
	for _, conc := range o.Concurrency {
		var rate, p50, p99, cpu []float64
		for rep := 0; rep < o.Repeats; rep++ {
			w, err := loadWebhook(ctx, c.Pid(), url, roots, bodies, conc, *o)
			if err != nil {
				return nil, nil, "", nil, nil, err
			}
			rate = append(rate, w.rate)
			p50 = append(p50, Millis(w.lat.Percentile(50)))
			p99 = append(p99, Millis(w.lat.Percentile(99)))
			cpu = append(cpu, w.serverCPUPerReview)
			o.Logf("webhook: %d connections, repeat %d: %.0f reviews/s, p50 %.3f ms, p99 %.3f ms, server CPU %.0f µs/review, client CPU %.0f µs/review",
				conc, rep+1, w.rate, Millis(w.lat.Percentile(50)), Millis(w.lat.Percentile(99)), w.serverCPUPerReview, w.clientCPUPerReview)
		}
		g := fmt.Sprintf("%d connection(s)", conc)
		var rateGoal, p99Goal *Goal
		if conc == o.GoalConcurrency {
			rateGoal, p99Goal = AtLeast(5000), AtMost(5)
		}
		figs = append(figs,
			NewFigure(g, "reviews per second", "1/s", rate, rateGoal),
			NewFigure(g, "latency p50", "ms", p50, nil),
			NewFigure(g, "latency p99", "ms", p99, p99Goal),
			NewFigure(g, "webhook CPU per review", "µs", cpu, nil),
		)
	}
	mem, err := ReadProcessMemory(c.Pid())
	if err == nil {
		notes = append(notes, fmt.Sprintf("Webhook RSS after the load: %.0f MiB (peak %.0f MiB).", mem.RSS, mem.Peak))
	}
	return figs, notes, certDir, roots, bodies, nil
}

// profile starts `perf serve-webhook` on the same certificate and takes a
// CPU profile of it under load at the goal concurrency.
func (o *WebhookLoadOptions) profile(ctx context.Context, certDir string, roots *x509.CertPool, bodies [][]byte) (string, error) {
	c, stdout, err := startChild("webhook (in-process server)", o.Executable, []string{"serve-webhook", "--cert-dir", certDir},
		filepath.Join(o.LogDir, "webhook-profile.log"))
	if err != nil {
		return "", err
	}
	defer c.stop(10 * time.Second)
	var ready WebhookReady
	if err := c.readReady(ctx, stdout, time.Minute, &ready); err != nil {
		return "", err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/mutate-v1-pod", ready.Port)
	if err := waitWebhook(ctx, c, url, roots, bodies[0]); err != nil {
		return "", err
	}
	path := filepath.Join(o.WorkDir, "webhook.cpu.prof")
	errs := make(chan error, 1)
	go func() {
		errs <- newExtenderClient("", ready.Debug).download(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(o.ProfileSeconds), path)
	}()
	po := *o
	po.Warmup, po.Duration = 100*time.Millisecond, time.Duration(o.ProfileSeconds)*time.Second+time.Second
	w, err := loadWebhook(ctx, c.Pid(), url, roots, bodies, o.GoalConcurrency, po)
	if err != nil {
		return "", err
	}
	if err := <-errs; err != nil {
		return "", err
	}
	o.Logf("webhook profile: %.0f reviews/s under the profiler, server CPU %.0f µs/review", w.rate, w.serverCPUPerReview)
	return filepath.Base(path), nil
}

// window is one measured load window.
type window struct {
	rate                                   float64
	lat                                    *Latencies
	serverCPUPerReview, clientCPUPerReview float64 // µs
}

// loadWebhook runs conc connections for the warm-up, then measures for
// o.Duration or o.MaxRequests reviews, whichever comes first.
func loadWebhook(ctx context.Context, serverPid int, url string, roots *x509.CertPool, bodies [][]byte, conc int, o WebhookLoadOptions) (window, error) {
	client := webhookClient(roots, conc)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu        sync.Mutex
		firstErr  error
		measuring = make(chan struct{})
		stop      = make(chan struct{})
		lats      = make([]*Latencies, conc)
		wg        sync.WaitGroup
		budget    = make(chan struct{}, o.MaxRequests)
	)
	for range o.MaxRequests {
		budget <- struct{}{}
	}
	for w := range conc {
		lats[w] = NewLatencies(o.MaxRequests/conc + 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			on := false
			for i := w; ; i += conc {
				select {
				case <-stop:
					return
				default:
				}
				if !on {
					select {
					case <-measuring:
						on = true
					default:
					}
				}
				if on {
					select {
					case <-budget:
					default:
						return
					}
				}
				start := time.Now()
				if err := postReview(ctx, client, url, bodies[i%len(bodies)]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				if on {
					lats[w].Add(time.Since(start))
				}
			}
		}()
	}
	time.Sleep(o.Warmup)
	serverBefore, err1 := ProcessCPU(serverPid)
	clientBefore, err2 := ProcessCPU(os.Getpid())
	if err := errors.Join(err1, err2); err != nil {
		close(stop)
		wg.Wait()
		return window{}, err
	}
	start := time.Now()
	close(measuring)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-time.After(o.Duration):
	case <-done:
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	serverAfter, err1 := ProcessCPU(serverPid)
	clientAfter, err2 := ProcessCPU(os.Getpid())
	if firstErr != nil {
		return window{}, firstErr
	}
	if err := errors.Join(err1, err2); err != nil {
		return window{}, err
	}
	all := NewLatencies(0)
	all.Merge(lats...)
	n := float64(all.Len())
	if n == 0 {
		return window{}, errors.New("no review was answered in the measured window")
	}
	return window{
		rate:               n / elapsed.Seconds(),
		lat:                all,
		serverCPUPerReview: float64((serverAfter-serverBefore)/time.Microsecond) / n,
		clientCPUPerReview: float64((clientAfter-clientBefore)/time.Microsecond) / n,
	}, nil
}

// webhookClient is an HTTPS client like the API server's webhook client:
// HTTP/1.1 with keep-alive, conc connections at most.
func webhookClient(roots *x509.CertPool, conc int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
			DisableCompression: true, ForceAttemptHTTP2: false,
		},
	}
}

// postReview sends one review and checks that the pod was allowed and
// patched.
func postReview(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sending a review: %w", err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the review answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`"allowed":true`)) || !bytes.Contains(raw, []byte(`"patch":`)) {
		return fmt.Errorf("the webhook answered %s: %s", resp.Status, truncate(raw))
	}
	return nil
}

// waitWebhook waits until the webhook answers a review, at most a minute.
func waitWebhook(ctx context.Context, c *child, url string, roots *x509.CertPool, body []byte) error {
	client := webhookClient(roots, 1)
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			return fmt.Errorf("%w: the webhook stopped (%v); see %s", errChildExited, err, c.log.Name())
		default:
		}
		if last = postReview(ctx, client, url, body); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the webhook did not answer within a minute: %w; see %s", last, c.log.Name())
}

// reviewBodies returns n AdmissionReviews (distinct UIDs) for the creation
// of a typical GPU pod by a ReplicaSet, as the API server sends them.
func reviewBodies(request string, n int) ([][]byte, error) {
	pod := basePod("", "train")
	pod.GenerateName, pod.UID = "train-7f9c6d5b4-", ""
	pod.Annotations[api.AnnotationGPU] = request
	pod.Annotations[api.AnnotationRole] = "train"
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		review := admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{Kind: "AdmissionReview", APIVersion: "admission.k8s.io/v1"},
			Request: &admissionv1.AdmissionRequest{
				UID:             types.UID(fmt.Sprintf("0d5a7c1e-3b2f-4e8a-9c6d-%012d", i)),
				Kind:            metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Resource:        metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
				RequestKind:     &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				RequestResource: &metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
				Namespace:       "ml",
				Operation:       admissionv1.Create,
				UserInfo: authenticationv1.UserInfo{
					Username: "system:serviceaccount:kube-system:replicaset-controller",
					UID:      "a8c3e1f0-1d2b-4c5e-8f9a-0b1c2d3e4f50",
					Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
				},
				Object:  runtime.RawExtension{Raw: raw},
				DryRun:  ptrTo(false),
				Options: runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}`)},
			},
		}
		b, err := json.Marshal(review)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
