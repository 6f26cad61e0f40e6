package app

import (
	"go.uber.org/goleak"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/wiretest"
)

// TestRunPortsApart runs the extender as its Deployment does: the
// scheduling API on one address, metrics, probes and the web page (as
// deploy/components/extender-ui turns it on) on three others. Only the API
// address binds pods or shows /state; the metrics, probe and page ports serve
// what they are for and bind nothing, whatever is posted to them (the page
// answers 405 to every write verb).
// Once Run returns, none of its goroutines is left.
func TestRunPortsApart(t *testing.T) {
	client := fake.NewClientset(vgpuNode(t, "v"), sharePod("p"))
	ignore := goleak.IgnoreCurrent()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.MetricsBindAddress, o.ProbeBindAddress, o.UIAddress = free(), free(), free()
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), testLogger(t)))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, Deps{Client: client, Listener: ln}) }()

	transport := &http.Transport{}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: transport}
	call := func(method, url, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	api, metrics, probes, page := "http://"+ln.Addr().String(), "http://"+o.MetricsBindAddress, "http://"+o.ProbeBindAddress, "http://"+o.UIAddress
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		code, _ := callQuietly(hc, probes+"/readyz")
		return code == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("probe port not ready within 20s: %v", err)
	}

	bind, err := json.Marshal(extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default", PodUID: "uid-p", Node: "v"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/bind", "/filter", "/prioritize", "/preempt", "/", "/view.json"} {
		if code, out := call("POST", page+path, string(bind)); code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s on the page's port = %d %.100q, want 405", path, code, out)
		}
	}
	if code, out := call("GET", page+"/state", ""); code != http.StatusNotFound {
		t.Errorf("GET /state on the page's port = %d %.100q, want 404", code, out)
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		code, out := call("GET", page+"/view.json", "")
		return code == http.StatusOK && strings.Contains(out, `"name":"v"`), nil
	}); err != nil {
		t.Errorf("GET /view.json on the page's port never showed node v: %v", err)
	}
	if code, out := call("GET", page+"/", ""); code != http.StatusOK || !strings.Contains(out, "ui.js") {
		t.Errorf("GET / on the page's port = %d %.100q", code, out)
	}
	for _, port := range []string{metrics, probes} {
		for _, path := range []string{"/bind", "/filter", "/prioritize"} {
			code, out := call("POST", port+path, string(bind))
			if code == http.StatusOK && strings.HasPrefix(strings.TrimSpace(out), "{") {
				t.Errorf("POST %s%s answered like the API: %s", port, path, out)
			}
		}
	}
	if code, out := call("GET", probes+"/state", ""); code != http.StatusNotFound {
		t.Errorf("GET /state on the probe port = %d %.100q, want 404", code, out)
	}
	if code, out := call("GET", probes+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the probe port = %d %.100q, want 404", code, out)
	}
	if code, out := call("GET", metrics+"/metrics", ""); code != http.StatusOK || !strings.Contains(out, "gpuplane_extender_nodes") {
		t.Errorf("GET /metrics on the metrics port = %d %.100q", code, out)
	}
	if p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
		t.Fatalf("pod after posts to the metrics and probe ports: %+v (%v), want unbound", p, err)
	}
	code, out := call("POST", api+"/bind", string(bind))
	var res extenderv1.ExtenderBindingResult
	if code != http.StatusOK || json.NewDecoder(bytes.NewReader([]byte(out))).Decode(&res) != nil || res.Error != "" {
		t.Fatalf("bind on the API address: %d %s", code, out)
	}

	transport.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v after cancel", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	wiretest.NoLeaks(t, ignore)
}

func callQuietly(hc *http.Client, url string) (int, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
