package ui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
)

// newTestUI is the page over a real cache holding a whole-card node with a
// pod on two cards, a vGPU node with one share, and a pod that waits, which
// the extender refused.
func newTestUI(t *testing.T) *UI {
	t.Helper()
	clk := extendertest.Clock()
	state := cache.NewState(voc, clk, time.Minute, extendertest.Logger(t))
	state.SetNode(extendertest.MakeNode("w").Whole(4, "V100").Obj())
	state.SetNode(extendertest.MakeNode("v").VGPUCards(2, "A100").Obj())
	state.SetPod(extendertest.MakePod("two").GPUs(2).On("w").Obj())
	state.SetPod(extendertest.MakePod("half").VGPU(0, 50, 0).Assigned("v", api.CardShare{Index: 1, Cores: 50, MemoryMiB: 40960}).On("v").Obj())
	waits := extendertest.MakePod("waits").GPUs(8).Obj()
	waits.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PASSWORD", Value: "hunter2"}}
	waits.Annotations = map[string]string{"example.com/secret": "hunter3"}
	rec := refusals.New(clk, 0)
	rec.Put(refusals.Refusal{Pod: "default/waits", UID: waits.UID, Candidates: 2,
		Groups: []refusals.Group{{Reason: "4 free V100, pod needs 8", Count: 1, Nodes: []string{"w"}}}})
	u, err := New(Config{State: state, Pending: PendingFunc(func() []*corev1.Pod { return []*corev1.Pod{waits} }),
		Refusals: rec, Vocabulary: voc, Clock: clk, Logger: extendertest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(newTestUI(t).Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		code         int
		contentType  string
		// body must contain each of these.
		body []string
	}{
		{method: "GET", path: "/", code: 200, contentType: "text/html; charset=utf-8", body: []string{`<script src="ui.js"`, `href="ui.css"`}},
		{method: "HEAD", path: "/", code: 200, contentType: "text/html; charset=utf-8"},
		{method: "GET", path: "/ui.js", code: 200, contentType: "text/javascript; charset=utf-8", body: []string{`fetch("view.json"`}},
		{method: "GET", path: "/ui.css", code: 200, contentType: "text/css; charset=utf-8", body: []string{".card"}},
		{method: "GET", path: "/view.json", code: 200, contentType: "application/json", body: []string{`"name":"w"`, `"4 free V100, pod needs 8"`}},
		{method: "POST", path: "/view.json", code: 405},
		{method: "POST", path: "/", code: 405},
		{method: "PUT", path: "/ui.js", code: 405},
		{method: "DELETE", path: "/view.json", code: 405},
		{method: "PATCH", path: "/", code: 405},
		{method: "POST", path: "/bind", code: 405},
		// The extender's own routes are not on the page's port.
		{method: "GET", path: "/state", code: 404},
		{method: "GET", path: "/metrics", code: 404},
		{method: "GET", path: "/index.html", code: 404},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.code, body)
			}
			if tc.code == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("405 with Allow %q, want GET, HEAD", resp.Header.Get("Allow"))
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != contentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q", got)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", resp.Header)
			}
			if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			for _, want := range tc.body {
				if !strings.Contains(string(body), want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
			for _, secret := range []string{"hunter2", "hunter3", "PASSWORD", "example.com/secret"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("the answer shows %q of a pod", secret)
				}
			}
		})
	}
}

// TestViewJSON reads the view through the handler: the cache's nodes and
// cards, whole and shared allocation apart, and the pod that waits with the
// extender's reason.
func TestViewJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	newTestUI(t).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/view.json", nil))
	var v View
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	used := map[string][]int64{}
	for _, n := range v.Nodes {
		for _, c := range n.Cards {
			used[n.Name] = append(used[n.Name], c.WholeMilli, c.SharedMilli)
		}
	}
	want := map[string][]int64{"w": {1000, 0, 1000, 0, 0, 0, 0, 0}, "v": {0, 0, 0, 500}}
	if len(used) != 2 || !slices.Equal(used["w"], want["w"]) || !slices.Equal(used["v"], want["v"]) {
		t.Errorf("whole and shared milli per card %v, want %v", used, want)
	}
	if len(v.Pending) != 1 || v.Pending[0].Pod != "default/waits" || v.Pending[0].Verdict == nil ||
		v.Pending[0].Verdict.Groups[0].Reason != "4 free V100, pod needs 8" || !v.Synced || !v.At.Equal(extendertest.Epoch) {
		t.Errorf("view %+v", v)
	}
}

// TestPageURLsAreRelative: every URL of the page is relative, so that it
// works under the API server's service proxy path, and nothing is loaded
// from elsewhere.
func TestPageURLsAreRelative(t *testing.T) {
	attr := regexp.MustCompile(`(?:src|href|action)="([^"]*)"`)
	fetches := regexp.MustCompile(`fetch\(\s*"([^"]*)"`)
	for name, re := range map[string]*regexp.Regexp{"static/index.html": attr, "static/ui.js": fetches} {
		raw, err := static.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		ms := re.FindAllStringSubmatch(string(raw), -1)
		if len(ms) == 0 {
			t.Errorf("%s: no URL found; the check reads nothing", name)
		}
		for _, m := range ms {
			if u := m[1]; strings.HasPrefix(u, "/") || strings.Contains(u, ":") {
				t.Errorf("%s: URL %q is not relative", name, u)
			}
		}
	}
	for _, name := range []string{"static/index.html", "static/ui.js", "static/ui.css"} {
		raw, _ := static.ReadFile(name)
		if strings.Contains(string(raw), "http://") || strings.Contains(string(raw), "https://") || strings.Contains(string(raw), "@import") {
			t.Errorf("%s names an external asset", name)
		}
	}
}

func TestNewRequires(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without state, pending pods and vocabulary succeeded")
	}
}
