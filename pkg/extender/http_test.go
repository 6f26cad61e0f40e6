package extender

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func TestHTTP(t *testing.T) {
	h := newHarness(t, harnessOptions{}, extendertest.MakeNode("v").VGPUCards(2, "T4").Obj(), extendertest.MakeNode("w").Whole(2, "T4").Obj())
	h.create(extendertest.MakePod("p").VGPU(0, 50, 0).Obj())
	var notReady atomic.Bool
	srv := httptest.NewServer(h.ext.Handler(HandlerOptions{MaxBodyBytes: 1 << 16, Ready: func() bool { return !notReady.Load() }, Gatherer: h.reg}))
	t.Cleanup(srv.Close)

	do := func(method, path string, body any) (int, string) {
		t.Helper()
		var rd io.Reader
		switch b := body.(type) {
		case nil:
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequestWithContext(h.ctx, method, srv.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	names := []string{"v", "w"}
	pod := h.pod("p")
	t.Run("filter", func(t *testing.T) {
		code, body := do("POST", "/filter", extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		var res extenderv1.ExtenderFilterResult
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil {
			t.Fatalf("%d %s", code, body)
		}
		if res.NodeNames == nil || len(*res.NodeNames) != 1 || (*res.NodeNames)[0] != "v" || !strings.Contains(res.FailedAndUnresolvableNodes["w"], "w: does not serve vGPU") {
			t.Fatalf("filter result %s", body)
		}
	})
	t.Run("prioritize", func(t *testing.T) {
		code, body := do("POST", "/prioritize", extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		var res extenderv1.HostPriorityList
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res) != 2 {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("bind", func(t *testing.T) {
		code, body := do("POST", "/bind", extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default", PodUID: pod.UID, Node: "v"})
		var res extenderv1.ExtenderBindingResult
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Error != "" {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("state", func(t *testing.T) {
		code, body := do("GET", "/state", nil)
		var st cache.StateView
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
			t.Fatalf("%d %s", code, body)
		}
		if len(st.Nodes) != 2 || st.Nodes[0].Name != "v" || st.Nodes[0].Cards[0].UsedMilli != 500 ||
			len(st.Nodes[0].Cards[0].Shares) != 1 || st.Nodes[0].Cards[0].Shares[0].Pod != "default/p" || !st.Nodes[0].Pods[0].Assumed {
			t.Fatalf("state %s", body)
		}
	})
	cases := []struct {
		name, method, path string
		body               any
		code               int
		contains           string
	}{
		{"bad json", "POST", "/filter", "{", 400, "bad request"},
		{"body too large", "POST", "/filter", `{"Pod":{"metadata":{"name":"` + strings.Repeat("x", 1<<16) + `"}}}`, 400, "larger than 65536 bytes"},
		{"wrong method", "GET", "/filter", nil, 405, ""},
		{"unknown path", "POST", "/evict", "{}", 404, ""},
		{"preempt without a pod", "POST", "/preempt", "{}", 400, "bad request: the arguments name no pod"},
		{"healthz", "GET", "/healthz", nil, 200, "ok"},

		{"metrics", "GET", "/metrics", nil, 200, `gpuplane_extender_requests_total{code="200",verb="filter"} 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, body, tc.code, tc.contains)
			}
		})
	}
	if code, _ := do("GET", "/readyz", nil); code != 200 {
		t.Fatalf("readyz after sync = %d", code)
	}
	notReady.Store(true)
	if code, body := do("GET", "/readyz", nil); code != 503 || !strings.Contains(body, "not synced") {
		t.Fatalf("readyz before sync = %d %s", code, body)
	}
	if code, body := do("POST", "/filter", extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}); code != 503 || !strings.Contains(body, "not synced") {
		t.Fatalf("filter before sync = %d %s; want 503: a half-listed state must not place pods", code, body)
	}
	notReady.Store(false)
	_, metrics := do("GET", "/metrics", nil)
	for _, want := range []string{
		`gpuplane_extender_binds_total{result="bound"} 1`,
		`gpuplane_extender_assumed_pods 1`,
		`gpuplane_extender_nodes 2`,
		`gpuplane_extender_cards 4`,
		`gpuplane_extender_request_duration_seconds_count{verb="prioritize"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestHandlerRecoversFromPanics(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	hd := h.ext.verb("boom", HandlerOptions{Logger: extendertest.Logger(t), Ready: func() bool { return true }}, alwaysReady, func(context.Context, *http.Request) (any, error) {
		panic("boom")
	})
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, httptest.NewRequest("POST", "/boom", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("code %d, want 500", rec.Code)
	}
}

// FuzzHandlers: whatever body kube-scheduler (or anyone) sends, the verbs
// answer 200 with JSON or 400, never a 500 or a panic.
func FuzzHandlers(f *testing.F) {
	names := []string{"v", "w", "ghost"}
	for _, args := range []any{
		extenderv1.ExtenderArgs{Pod: extendertest.MakePod("p").VGPU(0, 50, 8).Obj(), NodeNames: &names},
		extenderv1.ExtenderArgs{Pod: extendertest.MakePod("p").GPUs(2).Types("T4").Obj(), Nodes: &corev1.NodeList{Items: []corev1.Node{*extendertest.MakeNode("w").Obj()}}},
		extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default", Node: "v"},
	} {
		raw, err := json.Marshal(args)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Add(`{"Pod":{"spec":{"containers":[{"resources":{"limits":{"tencent.com/vcuda-core":"-5"}}}]}},"NodeNames":["v"]}`)
	f.Add(`{"Pod":null,"NodeNames":null,"Nodes":null}`)
	f.Add(`[]`)
	h := newHarness(f, harnessOptions{policy: placement.PolicyAuto},
		extendertest.MakeNode("v").VGPUCards(2, "T4").Obj(), extendertest.MakeNode("w").Whole(2, "T4").Obj(), extendertest.MakePod("p").VGPU(0, 50, 0).Obj())
	handler := h.ext.Handler(HandlerOptions{MaxBodyBytes: 1 << 16, Logger: klog.Background()})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/filter", "/filter-best", "/prioritize", "/bind"} {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
			if rec.Code != 200 && rec.Code != 400 {
				t.Fatalf("%s with %q: %d %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
