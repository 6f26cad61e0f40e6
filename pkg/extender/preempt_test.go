package extender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
)

// prio gives the pod a priority, as the priority admission plugin does.
func prio(p *corev1.Pod, v int32) *corev1.Pod {
	p.Spec.Priority = &v
	return p
}

// bothServices makes a node hand out whole cards and vGPU alike.
func bothServices(n *corev1.Node) *corev1.Node {
	n.Labels["vgpu"] = "true"
	return n
}

// preemptObjects is a cluster of full nodes:
//   - low: 8 V100 held by pods of priority 0 (one of 4 cards, four of 1);
//   - peer: 8 V100, one held by a pod of priority 1000, the rest by 0;
//   - t4: 4 T4 held by a pod of priority 0;
//   - both: 2 V100 handing out whole cards and vGPU, one held whole, the
//     other by two shares, all of priority 0.
func preemptObjects() []*corev1.Pod {
	pods := []*corev1.Pod{
		prio(extendertest.MakePod("low-big").GPUs(4).Types("V100").On("low").Obj(), 0),
		prio(extendertest.MakePod("peer-high").GPUs(1).Types("V100").On("peer").Obj(), 1000),
		prio(extendertest.MakePod("t4-all").GPUs(4).Types("T4").On("t4").Obj(), 0),
		prio(extendertest.MakePod("both-whole").GPUs(1).On("both").Obj(), 0),
		prio(extendertest.MakePod("both-s1").VGPU(0, 30, 8).Assigned("both", api.CardShare{Index: 1, Cores: 30, MemoryMiB: 2048}).Obj(), 0),
		prio(extendertest.MakePod("both-s2").VGPU(0, 50, 8).Assigned("both", api.CardShare{Index: 1, Cores: 50, MemoryMiB: 2048}).Obj(), 0),
	}
	for i := range 4 {
		pods = append(pods, prio(extendertest.MakePod(fmt.Sprintf("low-%d", i)).GPUs(1).Types("V100").On("low").Obj(), 0))
	}
	for i := range 7 {
		pods = append(pods, prio(extendertest.MakePod(fmt.Sprintf("peer-%d", i)).GPUs(1).Types("V100").On("peer").Obj(), 0))
	}
	return pods
}

func newPreemptHarness(t testing.TB) *harness {
	objs := []runtime.Object{
		extendertest.MakeNode("low").Whole(8, "V100").Obj(), extendertest.MakeNode("peer").Whole(8, "V100").Obj(),
		extendertest.MakeNode("t4").Whole(4, "T4").Obj(), bothServices(extendertest.MakeNode("both").Whole(2, "V100").Obj()),
	}
	for _, p := range preemptObjects() {
		objs = append(objs, p)
	}
	return newHarness(t, harnessOptions{}, objs...)
}

// metaArgs are kube-scheduler's arguments with nodeCacheCapable: every
// named node a candidate, the proposed victims by UID.
func metaArgs(pod *corev1.Pod, proposed map[string][]string) *extenderv1.ExtenderPreemptionArgs {
	args := &extenderv1.ExtenderPreemptionArgs{Pod: pod, NodeNameToMetaVictims: map[string]*extenderv1.MetaVictims{}}
	for node, names := range proposed {
		mv := &extenderv1.MetaVictims{Pods: []*extenderv1.MetaPod{}, NumPDBViolations: 1}
		for _, n := range names {
			mv.Pods = append(mv.Pods, &extenderv1.MetaPod{UID: "uid-" + n})
		}
		args.NodeNameToMetaVictims[node] = mv
	}
	return args
}

// victimNames reads an answer back as pod names by node, in its order.
func victimNames(res *extenderv1.ExtenderPreemptionResult) map[string]string {
	out := map[string]string{}
	for node, mv := range res.NodeNameToMetaVictims {
		var names []string
		for _, p := range mv.Pods {
			names = append(names, strings.TrimPrefix(p.UID, "uid-"))
		}
		out[node] = strings.Join(names, ",")
	}
	return out
}

func TestPreempt(t *testing.T) {
	every := map[string][]string{"low": {"low-0"}, "peer": {"peer-0"}, "t4": {"t4-all"}, "both": {"both-whole"}, "ghost": {"x"}}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		proposed map[string][]string
		want     map[string]string
		counts   map[string]float64
	}{
		{
			name:     "8(V100) of priority 1000 frees the node of low pods only",
			pod:      prio(extendertest.MakePod("boss").GPUs(8).Types("V100").Obj(), 1000),
			proposed: every,
			want:     map[string]string{"low": "low-0,low-1,low-2,low-3,low-big"},
			counts:   map[string]float64{preemptVictims: 1, preemptNoVictims: 1, preemptUnresolvable: 2, preemptUnknown: 1},
		},
		{
			name:     "equal priority preempts nobody",
			pod:      prio(extendertest.MakePod("peer").GPUs(1).Types("V100").Obj(), 0),
			proposed: every,
			want:     map[string]string{},
			counts:   map[string]float64{preemptNoVictims: 3, preemptUnresolvable: 1, preemptUnknown: 1},
		},
		{
			name:     "more cards than any node has",
			pod:      prio(extendertest.MakePod("huge").GPUs(16).Types("V100").Obj(), 1000),
			proposed: every,
			want:     map[string]string{},
			counts:   map[string]float64{preemptUnresolvable: 4, preemptUnknown: 1},
		},
		{
			name:     "one pod, the first by UID when kube-scheduler proposed none",
			pod:      prio(extendertest.MakePod("one").GPUs(1).Types("V100").Obj(), 10),
			proposed: map[string][]string{"low": {}},
			want:     map[string]string{"low": "low-0"},
			counts:   map[string]float64{preemptVictims: 1},
		},
		{
			name:     "of equal choices, the one kube-scheduler proposed",
			pod:      prio(extendertest.MakePod("one").GPUs(1).Types("V100").Obj(), 10),
			proposed: map[string][]string{"low": {"low-2"}},
			want:     map[string]string{"low": "low-2"},
			counts:   map[string]float64{preemptVictims: 1},
		},
		{
			name:     "vGPU shares it did not propose go too",
			pod:      prio(extendertest.MakePod("pair").GPUs(2).Obj(), 10),
			proposed: map[string][]string{"both": {"both-whole"}},
			want:     map[string]string{"both": "both-s1,both-s2,both-whole"},
			counts:   map[string]float64{preemptVictims: 1},
		},
		{
			// Freeing card 0 or card 1 takes one pod either way; the
			// proposed both-s1 alone would not do.
			name:     "a share takes one pod, the first by UID",
			pod:      prio(extendertest.MakePod("share").VGPU(0, 60, 8).Obj(), 10),
			proposed: map[string][]string{"both": {"both-s1"}},
			want:     map[string]string{"both": "both-s2"},
			counts:   map[string]float64{preemptVictims: 1},
		},
		{
			name:     "a pod without a GPU request gets kube-scheduler's answer",
			pod:      prio(extendertest.MakePod("cpu").Obj(), 10),
			proposed: map[string][]string{"low": {"low-3"}},
			want:     map[string]string{"low": "low-3"},
		},
		{
			name:     "several vGPU containers are not weighed",
			pod:      prio(extendertest.MakePod("multi").VGPU(0, 30, 0).VGPU(1, 30, 0).Obj(), 10),
			proposed: map[string][]string{"both": {"both-s1"}},
			want:     map[string]string{},
			counts:   map[string]float64{preemptUnknown: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newPreemptHarness(t)
			res, err := h.ext.Preempt(h.ctx, metaArgs(tc.pod, tc.proposed))
			if err != nil {
				t.Fatal(err)
			}
			if got := victimNames(res); !mapsEqual(got, tc.want) {
				t.Errorf("victims %v, want %v", got, tc.want)
			}
			for node, mv := range res.NodeNameToMetaVictims {
				if mv.NumPDBViolations != 1 {
					t.Errorf("node %s: %d PDB violations, want kube-scheduler's 1", node, mv.NumPDBViolations)
				}
			}
			for _, result := range []string{preemptVictims, preemptFits, preemptNoVictims, preemptUnresolvable, preemptUnknown} {
				if got := counterValue(t, h.ext.metrics.preemptNodes.WithLabelValues(result)); got != tc.counts[result] {
					t.Errorf("gpuplane_extender_preemption_nodes_total{result=%q} = %v, want %v", result, got, tc.counts[result])
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestPreemptWithPods takes kube-scheduler's arguments without
// nodeCacheCapable (Pods, not UIDs) and still answers with UIDs.
func TestPreemptWithPods(t *testing.T) {
	h := newPreemptHarness(t)
	args := &extenderv1.ExtenderPreemptionArgs{Pod: prio(extendertest.MakePod("boss").GPUs(8).Types("V100").Obj(), 1000),
		NodeNameToVictims: map[string]*extenderv1.Victims{"low": {Pods: []*corev1.Pod{h.pod("low-1")}}}}
	res, err := h.ext.Preempt(h.ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	if got := victimNames(res)["low"]; got != "low-0,low-1,low-2,low-3,low-big" {
		t.Errorf("victims on low: %q", got)
	}
	if got := counterValue(t, h.ext.metrics.preemptVictims); got != 5 {
		t.Errorf("gpuplane_extender_preemption_victims_total = %v, want 5", got)
	}
}

// TestPreemptKnowsWhatBindBooked: a pod the extender bound, not yet seen
// bound by the informer, keeps its priority: a preemptor of equal priority
// may not take its cards, one of higher priority may.
func TestPreemptKnowsWhatBindBooked(t *testing.T) {
	h := newHarness(t, harnessOptions{}, extendertest.MakeNode("n").Whole(2, "V100").Obj())
	h.create(prio(extendertest.MakePod("first").GPUs(2).Obj(), 500))
	if err := h.bind("first", "n"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]string{500: "", 501: "first"} {
		res, err := h.ext.Preempt(h.ctx, metaArgs(prio(extendertest.MakePod("next").GPUs(1).Obj(), p), map[string][]string{"n": {"first"}}))
		if err != nil {
			t.Fatal(err)
		}
		if got := victimNames(res)["n"]; got != want {
			t.Errorf("priority %d: victims %q, want %q", p, got, want)
		}
	}
}

// FuzzPreempt sends arbitrary bodies to /preempt: no 5xx; a 400 says "bad
// request"; an answer names only nodes it was asked about, at least one
// victim on each, and only pods of those nodes of lower priority than the
// preemptor.
func FuzzPreempt(f *testing.F) {
	for _, tc := range []*extenderv1.ExtenderPreemptionArgs{
		metaArgs(prio(extendertest.MakePod("boss").GPUs(8).Types("V100").Obj(), 1000), map[string][]string{"low": {"low-0"}, "peer": nil, "t4": {}, "ghost": {"x"}}),
		metaArgs(prio(extendertest.MakePod("pair").GPUs(2).Obj(), 10), map[string][]string{"both": {"both-whole"}}),
		metaArgs(prio(extendertest.MakePod("share").VGPU(0, 60, 8).Obj(), 10), map[string][]string{"both": {"both-s1"}, "low": nil}),
		metaArgs(extendertest.MakePod("cpu").Obj(), map[string][]string{"low": {"low-3"}}),
		{Pod: prio(extendertest.MakePod("boss").GPUs(1).Obj(), 5), NodeNameToVictims: map[string]*extenderv1.Victims{"low": {Pods: []*corev1.Pod{nil, {}}}, "both": nil}},
	} {
		f.Add(extendertest.MustMarshal(f, tc))
	}
	for _, raw := range []string{``, `{}`, `null`, `[]`, `{"Pod":null}`, `{"Pod":{}}`, `{"Pod":{},"NodeNameToMetaVictims":{"low":null}}`,
		`{"Pod":{"spec":{"priority":2147483647,"containers":[{"resources":{"limits":{"nvidia.com/gpu":"64"}}}]}},"NodeNameToMetaVictims":{"low":{"Pods":[null]}}}`} {
		f.Add([]byte(raw))
	}
	h := newPreemptHarness(f)
	handler := h.ext.Handler(HandlerOptions{MaxBodyBytes: 1 << 16, Logger: logr.Discard()})
	prioOf := map[types.UID]int32{}
	nodeOf := map[types.UID]string{}
	for _, p := range preemptObjects() {
		prioOf[p.UID], nodeOf[p.UID] = *p.Spec.Priority, p.Spec.NodeName
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/preempt", bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if !strings.Contains(rec.Body.String(), "bad request") {
				t.Fatalf("400 without saying why: %q", rec.Body.String())
			}
			return
		default:
			t.Fatalf("/preempt answered %d: %q", rec.Code, rec.Body.String())
		}
		var args extenderv1.ExtenderPreemptionArgs
		if err := json.Unmarshal(body, &args); err != nil || args.Pod == nil {
			t.Fatalf("answered 200 to %q", body)
		}
		var res extenderv1.ExtenderPreemptionResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer is not a preemption result: %v: %s", err, rec.Body.String())
		}
		asked := proposals(&args)
		gpu := false
		if req, err := request.Of(args.Pod, testVoc); err == nil {
			gpu = req.GPU()
		}
		prio := int32(0)
		if args.Pod.Spec.Priority != nil {
			prio = *args.Pod.Spec.Priority
		}
		for node, mv := range res.NodeNameToMetaVictims {
			if _, ok := asked[node]; !ok {
				t.Fatalf("answer names node %q, not asked about", node)
			}
			if !gpu {
				continue // kube-scheduler's own proposal, passed back
			}
			if mv == nil || len(mv.Pods) == 0 {
				t.Fatalf("node %s answered without victims", node)
			}
			for _, v := range mv.Pods {
				uid := types.UID(v.UID)
				if nodeOf[uid] != node || prioOf[uid] >= prio {
					t.Fatalf("victim %s (node %q, priority %d) on %s for a pod of priority %d", uid, nodeOf[uid], prioOf[uid], node, prio)
				}
			}
		}
	})
}
