package extender

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
)

// checkGPUManagerAnnotations verifies that what gpu-manager reads says
// exactly what gpuplane.io/assigned says.
func checkGPUManagerAnnotations(t *testing.T, pod *corev1.Pod, nowNanos int64) api.Assignment {
	t.Helper()
	a, err := api.DecodeAssignment(pod.Annotations[api.AnnotationAssigned])
	if err != nil {
		t.Fatalf("assignment: %v", err)
	}
	if a.Node != pod.Spec.NodeName {
		t.Errorf("assignment names %s, pod bound to %s", a.Node, pod.Spec.NodeName)
	}
	want := map[string]string{
		api.AnnotationPredicateNode: a.Node,
		api.AnnotationGPUAssigned:   "false",
		api.AnnotationPredicateTime: strconv.FormatInt(nowNanos, 10),
	}
	for _, c := range a.Containers {
		var idx []string
		for _, card := range c.Cards {
			idx = append(idx, strconv.Itoa(card.Index))
		}
		want[api.AnnotationPredicateGPUIdxPrefix+strconv.Itoa(c.Index)] = strings.Join(idx, ",")
	}
	got := map[string]string{}
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, "tencent.com/") {
			got[k] = v
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gpu-manager annotations %q, want %q (from %s)", got, want, pod.Annotations[api.AnnotationAssigned])
	}
	return a
}

func patches(h *harness) int {
	n := 0
	for _, a := range h.client.Actions() {
		if a.GetVerb() == "patch" {
			n++
		}
	}
	return n
}

func TestBindVGPU(t *testing.T) {
	cases := []struct {
		name string
		pod  *corev1.Pod
		want []api.ContainerAssignment
		used []int64
	}{
		{
			name: "share",
			pod:  extendertest.MakePod("p").VGPU(0, 50, 32).Obj(),
			want: []api.ContainerAssignment{{Index: 0, Name: "main", Cards: []api.CardShare{{Index: 0, Cores: 50, MemoryMiB: 8192}}}},
			used: []int64{500, 0, 0, 0},
		},
		{
			name: "two virtual whole cards",
			pod:  extendertest.MakePod("p").VGPU(0, 200, 0).Obj(),
			want: []api.ContainerAssignment{{Index: 0, Name: "main", Cards: []api.CardShare{{Index: 0, Cores: 100, MemoryMiB: 16384}, {Index: 1, Cores: 100, MemoryMiB: 16384}}}},
			used: []int64{1000, 1000, 0, 0},
		},
		{
			name: "two containers",
			pod:  extendertest.MakePod("p").VGPU(0, 60, 4).VGPU(1, 60, 4).Obj(),
			want: []api.ContainerAssignment{
				{Index: 0, Name: "main", Cards: []api.CardShare{{Index: 0, Cores: 60, MemoryMiB: 1024}}},
				{Index: 1, Name: "c1", Cards: []api.CardShare{{Index: 1, Cores: 60, MemoryMiB: 1024}}},
			},
			used: []int64{600, 600, 0, 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{}, extendertest.MakeNode("v").VGPUCards(4, "T4").Obj())
			h.create(tc.pod)
			if err := h.bind("p", "v"); err != nil {
				t.Fatal(err)
			}
			pod := h.pod("p")
			a := checkGPUManagerAnnotations(t, pod, extendertest.Epoch.UnixNano())
			if !reflect.DeepEqual(a.Containers, tc.want) {
				t.Errorf("assigned %+v, want %+v", a.Containers, tc.want)
			}
			if n := patches(h); n != 1 {
				t.Errorf("%d patches, want exactly one", n)
			}
			if got := used(t, h.state, "v"); !reflect.DeepEqual(got, tc.used) {
				t.Errorf("assumed: used %v, want %v", got, tc.used)
			}
			// The informer confirms: same holding, no longer assumed.
			h.sync()
			if got := used(t, h.state, "v"); !reflect.DeepEqual(got, tc.used) {
				t.Errorf("confirmed: used %v, want %v", got, tc.used)
			}
			if s := h.state.Sizes(); s.AssumedPods != 0 || s.BoundPods != 1 {
				t.Errorf("sizes %+v", s)
			}
		})
	}
}

func TestBindWholeCards(t *testing.T) {
	h := newHarness(t, harnessOptions{}, extendertest.MakeNode("w").Whole(4, "V100").Obj())
	h.create(extendertest.MakePod("p").GPUs(3).Types("V100").Obj())
	if err := h.bind("p", "w"); err != nil {
		t.Fatal(err)
	}
	pod := h.pod("p")
	if pod.Spec.NodeName != "w" || patches(h) != 0 || len(pod.Annotations) != 0 {
		t.Fatalf("whole-card pod: node %q, %d patches, annotations %v; want bound, unpatched", pod.Spec.NodeName, patches(h), pod.Annotations)
	}
	if got := used(t, h.state, "w"); !reflect.DeepEqual(got, []int64{1000, 1000, 1000, 0}) {
		t.Fatalf("used %v", got)
	}
	h.create(extendertest.MakePod("q").GPUs(2).Types("V100").Obj())
	err := h.bind("q", "w")
	if err == nil || !strings.Contains(err.Error(), "w: 1 free V100, pod needs 2") {
		t.Fatalf("second bind = %v, want the shortfall", err)
	}
}

func TestBindFailuresGiveTheCardsBack(t *testing.T) {
	fail := func(verb, sub string) func(h *harness) {
		return func(h *harness) {
			h.client.PrependReactor(verb, "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != sub {
					return false, nil, nil
				}
				return true, nil, errors.New("api server says no")
			})
		}
	}
	cases := []struct {
		name   string
		setup  func(*harness)
		result string
	}{
		{"patch fails", fail("patch", ""), bindPatch},
		{"binding fails", fail("create", "binding"), bindBinding},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{}, extendertest.MakeNode("v").VGPUCards(1, "T4").Obj())
			h.create(extendertest.MakePod("p").VGPU(0, 50, 0).Obj())
			tc.setup(h)
			if err := h.bind("p", "v"); err == nil || !strings.Contains(err.Error(), "api server says no") {
				t.Fatalf("bind = %v, want the API error", err)
			}
			if got := used(t, h.state, "v"); !reflect.DeepEqual(got, []int64{0}) {
				t.Fatalf("a failed bind still holds %v", got)
			}
			if got := counterValue(t, h.ext.metrics.binds.WithLabelValues(tc.result)); got != 1 {
				t.Fatalf("binds{result=%s} = %v", tc.result, got)
			}
		})
	}
}

func TestBindRefuses(t *testing.T) {
	h := newHarness(t, harnessOptions{}, extendertest.MakeNode("v").VGPUCards(1, "T4").Obj(), extendertest.MakeNode("w").Whole(1, "T4").Obj())
	h.create(extendertest.MakePod("p").VGPU(0, 50, 0).Obj(), extendertest.MakePod("bad").VGPU(0, 150, 0).Obj())
	cases := []struct {
		name string
		args extenderv1.ExtenderBindingArgs
		want string
	}{
		{"unknown pod", extenderv1.ExtenderBindingArgs{PodName: "nope", PodNamespace: "default", Node: "v"}, "not found"},
		{"replaced pod", extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default", PodUID: "old", Node: "v"}, "the pod is now uid uid-p"},
		{"unknown node", extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default", Node: "ghost"}, "ghost: no such node"},
		{"wrong service", extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default", Node: "w"}, "w: does not serve vGPU"},
		{"unusable request", extenderv1.ExtenderBindingArgs{PodName: "bad", PodNamespace: "default", Node: "v"}, "unusable GPU request"},
		{"no node named", extenderv1.ExtenderBindingArgs{PodName: "p", PodNamespace: "default"}, "must both be named"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.ext.Bind(h.ctx, &tc.args)
			if !strings.Contains(res.Error, tc.want) {
				t.Fatalf("Bind error %q, want it to contain %q", res.Error, tc.want)
			}
		})
	}
	if err := h.bind("p", "v"); err != nil {
		t.Fatal(err)
	}
	if err := h.bind("p", "v"); err != nil {
		t.Fatalf("a repeated bind to the same node must succeed: %v", err)
	}
	if err := h.bind("p", "w"); err == nil || !strings.Contains(err.Error(), "already bound to v") {
		t.Fatalf("bind to another node = %v", err)
	}
}

// TestConcurrentBindsForTheLastShare races binds for one card that holds
// fewer of them than are asked: exactly as many win as fit.
func TestConcurrentBindsForTheLastShare(t *testing.T) {
	cases := []struct {
		name          string
		pods, cores   int
		held, winners int
	}{
		{name: "two for the last share", pods: 2, cores: 30, held: 60, winners: 1},
		{name: "eight for three shares", pods: 8, cores: 30, held: 0, winners: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{extendertest.MakeNode("v").VGPUCards(1, "T4").Obj()}
			if tc.held > 0 {
				objs = append(objs, extendertest.MakePod("held").VGPU(0, tc.held, 0).Assigned("v", api.CardShare{Index: 0, Cores: tc.held}).Obj())
			}
			h := newHarness(t, harnessOptions{}, objs...)
			for i := range tc.pods {
				h.create(extendertest.MakePod(fmt.Sprintf("p%d", i)).VGPU(0, tc.cores, 0).Obj())
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, tc.pods)
			for i := range tc.pods {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res := h.ext.Bind(h.ctx, &extenderv1.ExtenderBindingArgs{PodName: fmt.Sprintf("p%d", i), PodNamespace: "default", Node: "v"})
					if res.Error != "" {
						errs[i] = errors.New(res.Error)
					}
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !strings.Contains(err.Error(), "v: no T4 card with 300 milli free"):
					t.Errorf("p%d lost with %v, want the shortfall", i, err)
				}
			}
			if won != tc.winners {
				t.Fatalf("%d binds won, want %d", won, tc.winners)
			}
			h.sync()
			total := tc.held
			for i := range tc.pods {
				pod := h.pod(fmt.Sprintf("p%d", i))
				if pod.Spec.NodeName == "" {
					continue
				}
				a := checkGPUManagerAnnotations(t, pod, extendertest.Epoch.UnixNano())
				total += a.Containers[0].Cards[0].Cores
			}
			if total > api.CoresPerCard {
				t.Fatalf("card 0 given %d cores", total)
			}
		})
	}
}

// TestRestartRebuildsTheSameState binds a mixed load, then builds a new
// state from the API server's pods and nodes alone: it must hold exactly
// what the first one did, and refuse what the first one would.
func TestRestartRebuildsTheSameState(t *testing.T) {
	nodes := []runtime.Object{
		extendertest.MakeNode("w").Whole(4, "V100").Obj(),
		extendertest.MakeNode("v").VGPUCards(2, "A100").Obj(),
	}
	h := newHarness(t, harnessOptions{}, nodes...)
	h.create(
		extendertest.MakePod("whole").GPUs(3).Types("V100").Obj(),
		extendertest.MakePod("s1").VGPU(0, 50, 40).Obj(),
		extendertest.MakePod("s2").VGPU(0, 30, 8).Obj(),
		extendertest.MakePod("s3").VGPU(0, 60, 8).Obj(),
		extendertest.MakePod("v1").VGPU(0, 100, 0).Obj(),
	)
	for _, b := range [][2]string{{"whole", "w"}, {"s1", "v"}, {"s2", "v"}, {"s3", "v"}} {
		if err := h.bind(b[0], b[1]); err != nil {
			t.Fatalf("bind %s: %v", b[0], err)
		}
	}
	if err := h.bind("v1", "v"); err == nil {
		t.Fatal("a virtual whole card was given on a node with no idle card")
	}
	h.sync()

	restarted := newHarness(t, harnessOptions{}, nodes...)
	restarted.client = h.client
	restarted.ext.client = h.client
	restarted.ext.pods = clientPods{h.client}
	restarted.sync()
	for _, node := range []string{"w", "v"} {
		before, after := h.state.Snapshot(node).Node().Cards, restarted.state.Snapshot(node).Node().Cards
		if !reflect.DeepEqual(before, after) {
			t.Errorf("%s: before the restart %+v, after %+v", node, before, after)
		}
	}
	// A pod patched by a bind whose Binding was never created (the
	// extender died in between) holds nothing: it is not bound, and its next
	// bind writes a new assignment.
	half := extendertest.MakePod("half").VGPU(0, 20, 0).Obj()
	stale := extendertest.MakePod("half").VGPU(0, 20, 0).Assigned("v", api.CardShare{Index: 0, Cores: 20}).Obj()
	half.Annotations = stale.Annotations
	restarted.create(half)
	restarted.sync()
	for _, node := range []string{"w", "v"} {
		if before, after := h.state.Snapshot(node).Node().Cards, restarted.state.Snapshot(node).Node().Cards; !reflect.DeepEqual(before, after) {
			t.Errorf("%s: an unbound pod's assignment counted: %+v, want %+v", node, after, before)
		}
	}
	if err := restarted.bind("half", "v"); err != nil {
		t.Fatalf("binding the half-bound pod: %v", err)
	}
	checkGPUManagerAnnotations(t, restarted.pod("half"), extendertest.Epoch.UnixNano())
	restarted.create(extendertest.MakePod("late").GPUs(2).Types("V100").Obj())
	if err := restarted.bind("late", "w"); err == nil || !strings.Contains(err.Error(), "1 free V100, pod needs 2") {
		t.Fatalf("after the restart: bind = %v, want the shortfall", err)
	}
	if err := restarted.bind("v1", "v"); err == nil {
		t.Fatal("after the restart a virtual whole card was given on a node with no idle card")
	}
}
