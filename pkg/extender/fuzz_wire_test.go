package extender

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// fuzzVerbs are the POST routes FuzzHandler drives, by its verb argument.
var fuzzVerbs = []string{"/filter", "/prioritize", "/bind", "/filter-best"}

// FuzzHandler sends arbitrary bodies to filter, filter-best, prioritize and
// bind, as kube-scheduler (or anything else reaching the port) could.
// Whatever the bytes: no 5xx; a 400 says "bad request"; a filter answer puts
// every candidate in exactly one place and names the node in each reason;
// filter-best keeps one of filter's fitting nodes whenever there are any,
// and otherwise refuses what filter refuses, for the same reasons; scores stay 0..10
// and name only candidates; and after a bind, no card, node or memory is
// booked beyond what it holds.
func FuzzHandler(f *testing.F) {
	seedPods := map[string]*corev1.Pod{
		"share":   extendertest.MakePod("share").VGPU(0, 50, 32).Obj(),
		"whole":   extendertest.MakePod("whole").GPUs(2).Types("V100").Obj(),
		"multi":   extendertest.MakePod("multi").VGPU(0, 30, 0).VGPU(1, 100, 0).Obj(),
		"both":    extendertest.MakePod("both").GPUs(1).VGPU(0, 50, 0).Obj(),
		"plain":   extendertest.MakePod("plain").Obj(),
		"toomany": extendertest.MakePod("toomany").GPUs(65).Obj(),
	}
	nodes := &corev1.NodeList{}
	for _, o := range wireObjects() {
		if n, ok := o.(*corev1.Node); ok {
			nodes.Items = append(nodes.Items, *n)
		}
	}
	for _, name := range []string{"share", "whole", "multi", "both", "plain", "toomany"} {
		p := seedPods[name]
		for _, verb := range []int{0, 1, 3} { // filter, prioritize, filter-best
			f.Add(uint8(verb), extendertest.MustMarshal(f, extenderv1.ExtenderArgs{Pod: p, NodeNames: &wireNames}))
			f.Add(uint8(verb), extendertest.MustMarshal(f, extenderv1.ExtenderArgs{Pod: p, Nodes: nodes}))
		}
	}
	for _, pod := range []string{"share", "whole", "multi", "held", "plain", "nobody"} {
		for _, node := range []string{"v", "w", "bad", "cpu", "ghost", ""} {
			f.Add(uint8(2), extendertest.MustMarshal(f, extenderv1.ExtenderBindingArgs{PodName: pod, PodNamespace: "default", PodUID: types.UID("uid-" + pod), Node: node}))
		}
	}
	for _, raw := range []string{``, `{}`, `null`, `[]`, `{"Pod":null}`, `{"Pod":{}}`, `{"NodeNames":[]}`, `{"Nodes":{"items":[{}]}}`,
		`{"Pod":{"spec":{"containers":[{"resources":{"limits":{"nvidia.com/gpu":"-1"}}}]}},"NodeNames":["w"]}`,
		`{"Pod":{"spec":{"containers":[{"resources":{"limits":{"tencent.com/vcuda-core":"150"}}}]}},"NodeNames":["v"]}`,
		`{"Pod":{"spec":{"containers":[{"resources":{"limits":{"tencent.com/vcuda-core":"1e3"}}}]}},"NodeNames":["v","v"]}`,
		`{"PodName":"share","PodNamespace":"default","Node":"v"}{"trailing":1}`} {
		for verb := range 3 {
			f.Add(uint8(verb), []byte(raw))
		}
	}

	f.Fuzz(func(t *testing.T, verb uint8, body []byte) {
		h := newHarness(t, harnessOptions{}, wireObjects()...)
		handler := h.ext.Handler(HandlerOptions{MaxBodyBytes: 1 << 16, Logger: logr.Discard()})
		path := fuzzVerbs[int(verb)%len(fuzzVerbs)]
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if !strings.Contains(rec.Body.String(), "bad request") {
				t.Fatalf("400 without saying why: %q", rec.Body.String())
			}
			return
		default:
			t.Fatalf("%s answered %d: %q", path, rec.Code, rec.Body.String())
		}
		switch path {
		case "/filter":
			fuzzCheckFilter(t, body, rec.Body.Bytes())
		case "/prioritize":
			fuzzCheckPrioritize(t, body, rec.Body.Bytes())
		case "/bind":
			fuzzCheckBind(t, h, body, rec.Body.Bytes())
		case "/filter-best":
			filter := httptest.NewRecorder()
			handler.ServeHTTP(filter, httptest.NewRequest(http.MethodPost, "/filter", bytes.NewReader(body)))
			fuzzCheckFilterBest(t, filter.Body.Bytes(), rec.Body.Bytes())
		}
	})
}

// fuzzCheckFilterBest compares filter-best's answer with filter's for the
// same body on the same state.
func fuzzCheckFilterBest(t *testing.T, filterAnswer, answer []byte) {
	var all, best extenderv1.ExtenderFilterResult
	if err := json.Unmarshal(filterAnswer, &all); err != nil {
		t.Fatalf("filter answer is not a filter result: %v: %s", err, filterAnswer)
	}
	if err := json.Unmarshal(answer, &best); err != nil {
		t.Fatalf("filter-best answer is not a filter result: %v: %s", err, answer)
	}
	fit := func(r *extenderv1.ExtenderFilterResult) []string {
		if r.NodeNames != nil {
			return *r.NodeNames
		}
		var names []string
		if r.Nodes != nil {
			for _, n := range r.Nodes.Items {
				names = append(names, n.Name)
			}
		}
		return names
	}
	kept, fitting := fit(&best), fit(&all)
	if len(fitting) > 0 && len(kept) != 1 {
		t.Fatalf("filter-best kept %v of %v, want one", kept, fitting)
	}
	wantFailed, wantUnresolvable := all.FailedNodes, all.FailedAndUnresolvableNodes
	if len(kept) > 0 {
		// A node kept: kube-scheduler reads no reason.
		wantFailed, wantUnresolvable = extenderv1.FailedNodesMap{}, extenderv1.FailedNodesMap{}
	}
	if best.Error != all.Error || !reflect.DeepEqual(best.FailedNodes, wantFailed) ||
		!reflect.DeepEqual(best.FailedAndUnresolvableNodes, wantUnresolvable) {
		t.Fatalf("filter-best refuses otherwise than filter:\n%s\n%s", answer, filterAnswer)
	}
	for _, name := range kept {
		if !slices.Contains(fitting, name) {
			t.Fatalf("filter-best kept %q, which filter did not: %s", name, answer)
		}
	}
}

// fuzzArgs decodes the body as the handler does: the first JSON value.
func fuzzArgs(t *testing.T, body []byte) extenderv1.ExtenderArgs {
	t.Helper()
	var args extenderv1.ExtenderArgs
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&args); err != nil {
		t.Fatalf("the handler accepted a body that does not decode: %v", err)
	}
	return args
}

func fuzzCheckFilter(t *testing.T, body, answer []byte) {
	args := fuzzArgs(t, body)
	var res extenderv1.ExtenderFilterResult
	if err := json.Unmarshal(answer, &res); err != nil {
		t.Fatalf("filter answer is not a filter result: %v: %s", err, answer)
	}
	if args.Pod == nil {
		if res.Error == "" {
			t.Fatalf("filter without a pod answered without an error: %s", answer)
		}
		return
	}
	candidates := candidateNames(&args)
	var fit []string
	if res.NodeNames != nil {
		fit = *res.NodeNames
	} else if res.Nodes != nil {
		for _, n := range res.Nodes.Items {
			fit = append(fit, n.Name)
		}
	}
	for _, name := range candidates {
		places := 0
		if slices.Contains(fit, name) {
			places++
		}
		for _, m := range []extenderv1.FailedNodesMap{res.FailedNodes, res.FailedAndUnresolvableNodes} {
			if reason, ok := m[name]; ok {
				places++
				if !strings.Contains(reason, name) {
					t.Errorf("reason for %q does not name it: %q", name, reason)
				}
			}
		}
		if places != 1 {
			t.Fatalf("candidate %q is in %d places of the answer: %s", name, places, answer)
		}
	}
	for _, name := range fit {
		if !slices.Contains(candidates, name) {
			t.Fatalf("filter returned %q, which was not a candidate", name)
		}
	}
}

func fuzzCheckPrioritize(t *testing.T, body, answer []byte) {
	args := fuzzArgs(t, body)
	var res extenderv1.HostPriorityList
	if err := json.Unmarshal(answer, &res); err != nil {
		t.Fatalf("prioritize answer is not a priority list: %v: %s", err, answer)
	}
	candidates := candidateNames(&args)
	if len(res) != len(candidates) {
		t.Fatalf("%d scores for %d candidates", len(res), len(candidates))
	}
	for i, hp := range res {
		if hp.Host != candidates[i] || hp.Score < 0 || hp.Score > 10 {
			t.Fatalf("score %d: %+v for candidate %q, want the candidate with 0..10", i, hp, candidates[i])
		}
	}
}

func fuzzCheckBind(t *testing.T, h *harness, body, answer []byte) {
	var args extenderv1.ExtenderBindingArgs
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&args); err != nil {
		t.Fatalf("the handler accepted a body that does not decode: %v", err)
	}
	var res extenderv1.ExtenderBindingResult
	if err := json.Unmarshal(answer, &res); err != nil {
		t.Fatalf("bind answer is not a binding result: %v: %s", err, answer)
	}
	if res.Error == "" {
		p, err := h.client.CoreV1().Pods(args.PodNamespace).Get(h.ctx, args.PodName, metav1.GetOptions{})
		if err != nil || p.Spec.NodeName != args.Node {
			t.Fatalf("bind of %s/%s to %q succeeded but the pod is %+v (%v)", args.PodNamespace, args.PodName, args.Node, p, err)
		}
	}
	h.sync()
	fuzzCheckNotOverbooked(t, h.state)
}

// fuzzCheckNotOverbooked fails when any node of the state holds more than
// its cards: a share beyond a card's cores or memory, or whole cards beyond
// the count.
func fuzzCheckNotOverbooked(t *testing.T, s *cache.State) {
	t.Helper()
	for _, n := range s.View().Nodes {
		if len(n.Overbooked) > 0 {
			t.Fatalf("node %s overbooked: %q", n.Name, n.Overbooked)
		}
		whole := 0
		for _, p := range n.Pods {
			whole += p.WholeCards
		}
		if whole > len(n.Cards) {
			t.Fatalf("node %s: %d whole cards held of %d", n.Name, whole, len(n.Cards))
		}
		for _, c := range n.Cards {
			if c.UsedMilli > placement.MilliPerCard || (c.MemoryMiB > 0 && c.UsedMemoryMiB > c.MemoryMiB) {
				t.Fatalf("node %s card %d: %d milli and %d MiB used of %d MiB", n.Name, c.Index, c.UsedMilli, c.UsedMemoryMiB, c.MemoryMiB)
			}
		}
	}
}
