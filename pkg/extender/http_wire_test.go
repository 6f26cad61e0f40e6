package extender

import (
	"go.uber.org/goleak"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/internal/httpserver"
	"github.com/gpuplane/gpuplane/internal/wiretest"
	"github.com/gpuplane/gpuplane/pkg/api"
)

// wireObjects is a small cluster for the wire tests and the handler fuzz: a
// vGPU node with a share taken, a whole-card node, a node whose devices
// annotation is corrupt, a node without GPUs, and pending pods of each kind.
func wireObjects() []k8sruntime.Object {
	return []k8sruntime.Object{
		extendertest.MakeNode("v").VGPUCards(2, "T4").Obj(),
		extendertest.MakeNode("w").Whole(2, "V100").Obj(),
		extendertest.MakeNode("bad").Whole(1, "T4").Annotate(api.AnnotationDevices, `[{"index":0,`).Obj(),
		extendertest.MakeNode("cpu").Obj(),
		extendertest.MakePod("held").VGPU(0, 60, 32).Assigned("v", api.CardShare{Index: 0, Cores: 60, MemoryMiB: 8192}).Obj(),
		extendertest.MakePod("share").VGPU(0, 50, 32).Obj(),
		extendertest.MakePod("whole").GPUs(2).Obj(),
		extendertest.MakePod("multi").VGPU(0, 30, 0).VGPU(1, 100, 0).Obj(),
		extendertest.MakePod("plain").Obj(),
	}
}

// wireNames are the candidate names the seeds send: every node, and one the
// extender does not know.
var wireNames = []string{"v", "w", "bad", "cpu", "ghost"}

// wireServer serves the extender's handler on 127.0.0.1 with the programs'
// server (internal/httpserver), as the program does, its read timeout
// shortened when readTimeout is set, and returns its address and the
// function that stops it.
func wireServer(t *testing.T, h *harness, maxBody int64, readTimeout time.Duration) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserver.New(context.Background(), h.ext.Handler(HandlerOptions{MaxBodyBytes: maxBody, Logger: logr.Discard()}), ln.Addr().String())
	if readTimeout > 0 {
		srv.ReadTimeout = readTimeout
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := srv.Close(); err != nil {
				t.Errorf("closing the server: %v", err)
			}
			if err := <-done; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// TestWireBadInput sends what a confused or hostile client could send to the
// extender's port and checks each answer: a 4xx with a message for what is
// not the verb's JSON, a 200 with the verb's own error for well-formed
// arguments that name nothing usable, and never a 5xx. The server still
// answers a good request afterwards, and once it is stopped no goroutine of
// it is left behind.
func TestWireBadInput(t *testing.T) {
	h := newHarness(t, harnessOptions{}, wireObjects()...)
	ignore := goleak.IgnoreCurrent()
	addr, stop := wireServer(t, h, 1<<16, 0)
	transport := &http.Transport{}
	client := &http.Client{Timeout: 10 * time.Second, Transport: transport}
	share := h.pod("share")

	cases := []struct {
		name, method, path, contentType string
		body                            string
		code                            int
		// contains is part of the body, or of the verb's Error field.
		contains string
	}{
		{"malformed json", "POST", "/filter", "application/json", `{"Pod":`, 400, "bad request"},
		{"not an object", "POST", "/prioritize", "application/json", `[1,2,3]`, 400, "bad request"},
		{"wrong type of field", "POST", "/filter", "application/json", `{"NodeNames":"v"}`, 400, "bad request"},
		{"binary", "POST", "/bind", "application/octet-stream", "\x00\xff\xfe\x01", 400, "bad request"},
		{"empty body", "POST", "/filter", "application/json", ``, 400, "bad request"},
		{"body over the limit", "POST", "/filter", "application/json",
			`{"Pod":{"metadata":{"name":"` + strings.Repeat("x", 1<<16) + `"}}}`, 400, "larger than 65536 bytes"},
		{"deeply nested", "POST", "/filter", "application/json", strings.Repeat("[", 20000), 400, "bad request"},
		{"filter without a pod", "POST", "/filter", "application/json", `{"NodeNames":["v"]}`, 200, "name no pod"},
		{"bind arguments sent to filter", "POST", "/filter", "application/json",
			`{"PodName":"share","PodNamespace":"default","Node":"v"}`, 200, "name no pod"},
		{"bind of an unknown pod", "POST", "/bind", "application/json",
			`{"PodName":"nobody","PodNamespace":"default","Node":"v"}`, 200, "nobody"},
		{"bind without a node", "POST", "/bind", "application/json", `{"PodName":"share","PodNamespace":"default"}`, 200, "must both be named"},
		{"bind of a stale uid", "POST", "/bind", "application/json",
			`{"PodName":"share","PodNamespace":"default","PodUID":"someone-else","Node":"v"}`, 200, "scheduler asked for someone-else"},
		{"bind to a node that cannot hold it", "POST", "/bind", "application/json",
			`{"PodName":"whole","PodNamespace":"default","Node":"v"}`, 200, "v: "},
		{"bind to the corrupt node", "POST", "/bind", "application/json",
			`{"PodName":"share","PodNamespace":"default","Node":"bad"}`, 200, "is unreadable"},
		{"wrong method", "GET", "/bind", "", "", 405, ""},
		{"unknown verb", "POST", "/preemption", "application/json", `{}`, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := wiretest.Send(t, client, tc.method, "http://"+addr+tc.path, tc.contentType, tc.body)
			if code != tc.code || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, body, tc.code, tc.contains)
			}
		})
	}

	// The server is unharmed: a real filter call still answers, and nothing
	// was bound by the refused calls.
	raw, err := json.Marshal(extenderv1.ExtenderArgs{Pod: share, NodeNames: &wireNames})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post("http://"+addr+"/filter", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var res extenderv1.ExtenderFilterResult
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || res.NodeNames == nil || strings.Join(*res.NodeNames, ",") != "v" {
		t.Fatalf("filter after the bad input: %+v (%v), want only v", res, err)
	}
	for _, name := range []string{"share", "whole"} {
		if p := h.pod(name); p.Spec.NodeName != "" {
			t.Errorf("pod %s bound to %s by a refused call", name, p.Spec.NodeName)
		}
	}

	transport.CloseIdleConnections()
	stop()
	wiretest.NoLeaks(t, ignore)
}

// TestWireSlowClients holds connections open without finishing a request:
// the server closes each after its header or read timeout instead of
// keeping a goroutine and a socket per slow client for ever.
func TestWireSlowClients(t *testing.T) {
	h := newHarness(t, harnessOptions{}, wireObjects()...)
	ignore := goleak.IgnoreCurrent()
	// ReadTimeout is shortened to keep the test quick; the header timeout is
	// the programs' fixed one (10s).
	addr, stop := wireServer(t, h, 1<<16, time.Second)

	cases := []struct {
		name string
		// sent is written, then the client stalls.
		sent string
	}{
		{"headers never finished", "POST /filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"},
		{"body never finished", "POST /filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Pod\":"},
		{"nothing sent", ""},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			_, closed, err := wiretest.DialStall(addr, tc.sent, 30*time.Second)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if !closed {
				t.Errorf("%s: the server kept the connection open for 30s", tc.name)
			}
		})
	}
	wg.Wait()
	stop()
	wiretest.NoLeaks(t, ignore)
}

// TestWireConcurrentBindsForTheLastShare sends many binds at once for pods
// that each fit the one share left on a card: exactly one wins, and the
// card is never booked beyond itself.
func TestWireConcurrentBindsForTheLastShare(t *testing.T) {
	const racers = 16
	objs := []k8sruntime.Object{
		extendertest.MakeNode("v").VGPUCards(1, "T4").Obj(),
		extendertest.MakePod("held").VGPU(0, 60, 0).Assigned("v", api.CardShare{Index: 0, Cores: 60}).Obj(),
	}
	for i := range racers {
		objs = append(objs, extendertest.MakePod(fmt.Sprintf("racer-%02d", i)).VGPU(0, 40, 0).Obj())
	}
	h := newHarness(t, harnessOptions{}, objs...)
	addr, _ := wireServer(t, h, 1<<16, 0)
	client := &http.Client{Timeout: 10 * time.Second}

	results := make([]extenderv1.ExtenderBindingResult, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			name := fmt.Sprintf("racer-%02d", i)
			raw, _ := json.Marshal(extenderv1.ExtenderBindingArgs{PodName: name, PodNamespace: "default", PodUID: types.UID("uid-" + name), Node: "v"})
			<-start
			resp, err := client.Post("http://"+addr+"/bind", "application/json", bytes.NewReader(raw))
			if err != nil {
				results[i].Error = err.Error()
				return
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(&results[i]); err != nil {
				results[i].Error = err.Error()
			}
		})
	}
	close(start)
	wg.Wait()

	won := 0
	for i, r := range results {
		if r.Error == "" {
			won++
			continue
		}
		if !strings.Contains(r.Error, "v: ") {
			t.Errorf("racer %d lost with %q, want the node's shortfall", i, r.Error)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d binds for the last 40 cores won, want exactly 1", won, racers)
	}
	h.sync()
	view := h.state.View()
	if c := view.Nodes[0].Cards[0]; c.UsedMilli != 1000 || len(view.Nodes[0].Overbooked) != 0 {
		t.Fatalf("card after the race: %+v, overbooked %q; want exactly full", c, view.Nodes[0].Overbooked)
	}
}
