//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/webhook"
	"github.com/gpuplane/gpuplane/test/cluster"
)

const (
	// uiLimit bounds every wait on the page: it polls every 1.5 s.
	uiLimit = 30 * time.Second
	// uiEnvScreenshot, set to 1, writes the screenshot to docs/ui.png.
	uiEnvScreenshot = "UPDATE_SCREENSHOT"
	// uiEnvChromium names the browser; default /usr/bin/chromium (the
	// Makefile's chromium target installs it).
	uiEnvChromium = "GPUPLANE_CHROMIUM"
)

// uiCard is what the page shows of a card in its data attributes.
type uiCard struct {
	Node  string `json:"node"`
	Index int    `json:"index"`
	Used  int64  `json:"used"`
}

// TestUI opens the extender's web page (--ui-address) in headless Chromium
// on the demo's cluster after the demo's requests: every node and card of
// the cluster is drawn as the extender's /state holds it; a bind changes a
// card's shading without a reload; a pod the extender refuses is listed with
// its reason; a screenshot is written (to docs/ui.png with
// UPDATE_SCREENSHOT=1). Then `kubectl gpuplane ui` is run against the real API
// server's service proxy, and the page is opened under that proxy path.
func TestUI(t *testing.T) {
	browser := uiChromium(t)
	plugin := kubectlBuild(t)
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	cat := catalog.Default()
	addDemoNodes(ctx, t, c, cat)
	uiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ext := extStartDeps(t, c, "127.0.0.1:0", extender.DefaultOptions(), extender.Deps{UIListener: uiLn})
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(ctx, t, client, "demo")
	submit := func(name, gpu, role string) *corev1.Pod {
		t.Helper()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{api.AnnotationGPU: gpu}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "none"}}},
		}
		if role != "" {
			pod.Annotations[api.AnnotationRole] = role
		}
		admitted, err := webhook.Mutate(pod, cat, webhook.Options{SchedulerName: extSchedulerName})
		if err != nil {
			t.Fatalf("the webhook refuses %s: %v", gpu, err)
		}
		created, err := client.CoreV1().Pods(ns).Create(ctx, admitted, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return created
	}
	// The demo's requests that land (hack/demo/scenario.go), one after the
	// other as the demo submits them.
	for _, a := range []kubectlAsk{
		{name: "one-t4", gpu: "1(T4)", node: "gpu-t4"},
		{name: "two-v100", gpu: "2(V100)", node: "gpu-v100"},
		{name: "one-vgpu", gpu: "1(VGPU)", node: "vgpu-a100"},
		{name: "half-a100", gpu: "0.5(A100)", node: "vgpu-a100"},
		{name: "v100-or-a100", gpu: "2(V100|A100)", node: "gpu-v100"},
		{name: "notebook", gpu: "1", role: "notebook", node: "gpu-t4"},
	} {
		if got := waitBound(ctx, t, client, submit(a.name, a.gpu, a.role)); got != a.node {
			t.Fatalf("%s (%s) landed on %s, want %s", a.name, a.gpu, got, a.node)
		}
	}

	bctx := uiBrowser(t, browser)
	page := "http://" + uiLn.Addr().String() + "/"
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("opening %s: %v", page, err)
	}

	t.Run("every node and card", func(t *testing.T) {
		want := uiStateCards(t, ext)
		if len(want) != 8+2+4 {
			t.Fatalf("the extender's /state has %d cards, want the demo's 14: %+v", len(want), want)
		}
		got := uiWaitCards(bctx, t, func(cards []uiCard) bool { return slices.Equal(cards, want) })
		if !slices.Equal(got, want) {
			t.Fatalf("the page draws %+v, want /state's %+v", got, want)
		}
		rows, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#nodes .node")).map(n => n.dataset.node)`))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rows, []string{"gpu-t4", "gpu-v100", "vgpu-a100"}) {
			t.Errorf("node rows %q, want gpu-t4, gpu-v100, vgpu-a100", rows)
		}
	})

	t.Run("a bind changes the picture without a reload", func(t *testing.T) {
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.gpuplaneNoReload = true`)); err != nil {
			t.Fatal(err)
		}
		before := uiWaitCards(bctx, t, func([]uiCard) bool { return true })
		p := submit("six-tenths", "0.6(A100)", "")
		if node := waitBound(ctx, t, client, p); node != "vgpu-a100" {
			t.Fatalf("six-tenths landed on %s, want vgpu-a100", node)
		}
		a := uiAssignment(ctx, t, client, ns, "six-tenths")
		if len(a.Containers) != 1 || len(a.Containers[0].Cards) != 1 {
			t.Fatalf("six-tenths assignment %+v, want one card", a)
		}
		index := a.Containers[0].Cards[0].Index
		var was int64 = -1
		for _, c := range before {
			if c.Node == "vgpu-a100" && c.Index == index {
				was = c.Used
			}
		}
		if was != 0 {
			t.Fatalf("vgpu-a100 card %d showed %d milli before the bind, want a free card", index, was)
		}
		got := uiWaitCards(bctx, t, func(cards []uiCard) bool {
			return slices.Contains(cards, uiCard{Node: "vgpu-a100", Index: index, Used: 600})
		})
		if !slices.Contains(got, uiCard{Node: "vgpu-a100", Index: index, Used: 600}) {
			t.Fatalf("vgpu-a100 card %d never showed 600 milli: %+v", index, got)
		}
		sel := fmt.Sprintf(`document.querySelector('.card[data-node="vgpu-a100"][data-index="%d"] .fill.shared').style.height`, index)
		if shade, err := chromedp.Run(bctx, chromedp.Evaluate[string](sel)); err != nil || shade != "60%" {
			t.Errorf("card %d's vGPU shading is %q (%v), want 60%%", index, shade, err)
		}
		if kept, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.gpuplaneNoReload === true`)); err != nil || !kept {
			t.Errorf("the page was reloaded (%v)", err)
		}
	})

	t.Run("a pod that waits, with the extender's reason", func(t *testing.T) {
		// The second 0.6 takes the last free card; the third finds the
		// node's cores and memory enough in sum, so kube-scheduler passes
		// it to the extender, but no card with 60% free.
		if node := waitBound(ctx, t, client, submit("six-tenths-b", "0.6(A100)", "")); node != "vgpu-a100" {
			t.Fatalf("six-tenths-b landed on %s, want vgpu-a100", node)
		}
		waits := submit("six-tenths-c", "0.6(A100)", "")
		waitFailedScheduling(ctx, t, client, waits)
		want := "vgpu-a100: no A100 card with 600 milli and 49152 MiB free"
		var text string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, uiLimit, true, func(context.Context) (bool, error) {
			got, err := chromedp.Run(bctx, chromedp.Evaluate[string](
				`(document.querySelector('#pending tr[data-pod="demo/six-tenths-c"]') || {textContent: ""}).textContent`))
			text = got
			return err == nil && strings.Contains(text, want), nil
		})
		if err != nil {
			t.Fatalf("the pending row of demo/six-tenths-c reads %q, want %q: %v", text, want, err)
		}
		if !strings.Contains(text, "0.6(A100)") || !strings.Contains(text, "0 of 1 node(s) fit") {
			t.Errorf("the pending row reads %q, want the request and 0 of 1 node(s) fit", text)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("the screenshot is not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
			t.Errorf("screenshot of %v, want at least 800x400", b)
		}
		path := filepath.Join(t.TempDir(), "ui.png")
		if os.Getenv(uiEnvScreenshot) == "1" {
			path = filepath.Join(repoRoot(t), "docs", "ui.png")
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	})

	t.Run("kubectl gpuplane ui through the API server's service proxy", func(t *testing.T) {
		uiThroughProxy(ctx, t, c, plugin, bctx, uiLn.Addr().String())
	})
}

// uiThroughProxy runs `kubectl gpuplane ui` against the real API server. The
// API server's service proxy refuses to reach the loopback (an EndpointSlice
// address in 127.0.0.0/8 is invalid, and the node and pod proxies want a
// global unicast address), and the test's servers listen on the loopback
// only, so the last hop, API server to extender, is not taken here: the
// forwarder's requests are shown to reach the real service proxy path of the
// page's Service with the kubeconfig's credentials (the API server answers
// that the Service has no endpoints), and the page is opened in the browser
// under that same path, served from the extender the way the service proxy
// serves it (the path prefix taken off), which proves its relative URLs.
func uiThroughProxy(ctx context.Context, t *testing.T, c *cluster.Cluster, plugin string, bctx context.Context, uiAddr string) {
	client := c.Client()
	const ns, svc = "gpuplane-system", "gpuplane-extender-ui"
	createNamespace(ctx, t, client, ns)
	// The Service deploy/components/extender-ui makes; no pod of this
	// cluster matches its selector.
	if _, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svc},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": "gpuplane-scheduler"},
			Ports:    []corev1.ServicePort{{Name: "ui", Port: 8082, TargetPort: intstr.FromString("ui")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The loopback cannot be an endpoint: the API server refuses it.
	_, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-loopback", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("ui"), Port: ptr.To[int32](8082)}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("an EndpointSlice on 127.0.0.1: %v, want it refused as loopback", err)
	}

	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(pctx, plugin, "--kubeconfig", c.KubeconfigPath(), "ui")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var page string
	select {
	case page = <-lines:
	case <-time.After(uiLimit):
		t.Fatalf("kubectl gpuplane ui printed no URL within %s; stderr %q", uiLimit, stderr.String())
	}
	prefix := "/api/v1/namespaces/gpuplane-system/services/gpuplane-extender-ui:ui/proxy/"
	u, err := url.Parse(page)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Path != prefix {
		t.Fatalf("kubectl gpuplane ui printed %q, want http://127.0.0.1:PORT%s (stderr %q)", page, prefix, stderr.String())
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(method, target, host string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// The real API server answers for the Service, with the forwarder's
	// credentials: without them it would answer 401 or 403.
	if code, body := call("GET", page+"view.json", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, `no endpoints available for service \"gpuplane-extender-ui\"`) {
		t.Errorf("GET %sview.json = %d %q, want the API server's 503: no endpoints available for service \"gpuplane-extender-ui\"", page, code, body)
	}
	if code, body := call("GET", "http://"+u.Host+"/api/v1/namespaces/kube-system/secrets", ""); code != http.StatusNotFound {
		t.Errorf("GET of the rest of the API through the forwarder = %d %.200q, want 404", code, body)
	}
	if code, _ := call("POST", page+"view.json", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST through the forwarder = %d, want 405", code)
	}
	if code, _ := call("GET", page, "rebound.example:"+u.Port()); code != http.StatusForbidden {
		t.Errorf("GET with another Host = %d, want 403", code)
	}
	if code, _ := call("GET", "http://"+u.Host+"/", ""); code != http.StatusFound {
		t.Errorf("GET / = %d, want a redirect to the page", code)
	}

	// The page under the proxy path, served as the service proxy serves
	// it: the prefix taken off, the rest passed to the extender's page.
	target := &url.URL{Scheme: "http", Host: uiAddr}
	mux := http.NewServeMux()
	mux.Handle(prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), httputil.NewSingleHostReverseProxy(target)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	proxied := "http://" + ln.Addr().String() + prefix
	if err := chromedp.Do(bctx, chromedp.Navigate(proxied)); err != nil {
		t.Fatal(err)
	}
	cards := uiWaitCards(bctx, t, func(cards []uiCard) bool { return len(cards) == 14 })
	if len(cards) != 14 {
		t.Fatalf("under %s the page draws %d cards, want 14", prefix, len(cards))
	}
	if loc, err := chromedp.Run(bctx, chromedp.Evaluate[string](`location.pathname`)); err != nil || loc != prefix {
		t.Errorf("the page's path is %q (%v), want %q", loc, err, prefix)
	}
}

// uiChromium returns the browser's path: $GPUPLANE_CHROMIUM, else
// /usr/bin/chromium; failing (or skipping, see deployMissing) when absent.
func uiChromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv(uiEnvChromium)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		deployMissing(t, "chromium not found as an executable at %s; `make chromium` installs it", path)
	}
	return path
}

// uiBrowser starts headless Chromium with a fresh profile and no network
// of its own, and returns the context of its first tab.
func uiBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium %s: %v", path, err)
	}
	return bctx
}

// uiCardsJS reads every card the page draws, in the page's order.
const uiCardsJS = `Array.from(document.querySelectorAll("#nodes .card")).map(c =>
  ({node: c.dataset.node, index: Number(c.dataset.index), used: Number(c.dataset.usedMilli)}))`

// uiWaitCards waits until the page's cards satisfy ok and returns them (the
// last read when the wait ends unsatisfied).
func uiWaitCards(bctx context.Context, t *testing.T, ok func([]uiCard) bool) []uiCard {
	t.Helper()
	var cards []uiCard
	err := wait.PollUntilContextTimeout(bctx, 200*time.Millisecond, uiLimit, true, func(context.Context) (bool, error) {
		raw, err := chromedp.Run(bctx, chromedp.Evaluate[json.RawMessage](uiCardsJS))
		if err != nil {
			return false, nil
		}
		cards = nil
		if err := json.Unmarshal(raw, &cards); err != nil {
			return false, err
		}
		return len(cards) > 0 && ok(cards), nil
	})
	if err != nil {
		t.Logf("waiting on the page's cards: %v", err)
	}
	return cards
}

// uiStateCards is every card of the extender's /state, in the page's order
// (nodes by name, cards by position).
func uiStateCards(t *testing.T, ext *extRunner) []uiCard {
	t.Helper()
	var view cache.StateView
	if err := json.Unmarshal([]byte(ext.get(t, "/state")), &view); err != nil {
		t.Fatal(err)
	}
	var out []uiCard
	for _, n := range view.Nodes {
		for _, c := range n.Cards {
			out = append(out, uiCard{Node: n.Name, Index: c.Index, Used: c.UsedMilli})
		}
	}
	return out
}

// uiAssignment reads the extender's assignment of a bound pod.
func uiAssignment(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string) api.Assignment {
	t.Helper()
	p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.DecodeAssignment(p.Annotations[api.AnnotationAssigned])
	if err != nil {
		t.Fatalf("pod %s/%s: %v", ns, name, err)
	}
	return a
}
