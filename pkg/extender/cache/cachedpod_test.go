package cache

import (
	"context"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// full dresses a test pod as the API server sends it: labels, a large
// annotation, an image, conditions and managed fields the cache must drop.
func full(p *corev1.Pod) *corev1.Pod {
	p.Labels = map[string]string{"app": "train"}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{big}"
	p.ResourceVersion = "42"
	p.Spec.Containers[0].Image = "big/image"
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady}}
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	if p.Status.Phase == "" {
		p.Status.Phase = corev1.PodRunning
	}
	return p
}

func TestPodTransform(t *testing.T) {
	v100 := []string{"V100"}
	cases := []struct {
		name string
		pod  *corev1.Pod
		// pending pods stay trimmed Pods; bound ones become summaries.
		pending bool
		// holds tells whether the summary has a record (terminated pods
		// hold nothing).
		holds    bool
		observed []placement.Request
		problem  bool
	}{
		{name: "pending pod stays a trimmed pod", pod: extendertest.MakePod("p").GPUs(2).Types("V100").Obj(), pending: true},
		{name: "bound whole-card pod", pod: extendertest.MakePod("p").GPUs(2).Types("V100").On("w").Obj(), holds: true,
			observed: []placement.Request{{Cards: 2, Milli: placement.MilliPerCard, Types: v100}}},
		{name: "bound vGPU pod with its assignment", holds: true,
			pod:      extendertest.MakePod("p").VGPU(0, 40, 4).Types("T4").Assigned("v", api.CardShare{Index: 1, Cores: 40, MemoryMiB: 1024}).Obj(),
			observed: []placement.Request{{Cards: 1, Milli: 400, CardMemoryMiB: 1024, VGPU: true, Types: []string{"T4"}}}},
		{name: "bound vGPU pod without assignment", holds: true, problem: true,
			pod:      extendertest.MakePod("p").VGPU(0, 40, 0).On("v").Obj(),
			observed: []placement.Request{{Cards: 1, Milli: 400, VGPU: true}}},
		{name: "bound pod without GPU", pod: extendertest.MakePod("p").Request(0, corev1.ResourceCPU, "2").On("w").Obj(), holds: true},
		{name: "bound pod with an unreadable request", holds: true, problem: true,
			pod: extendertest.MakePod("p").GPUs(1).VGPU(0, 40, 0).On("w").Obj()},
		{name: "terminated pod holds nothing", pod: extendertest.MakePod("p").GPUs(2).On("w").Phase(corev1.PodSucceeded).Obj()},
		{name: "failed pod holds nothing", pod: extendertest.MakePod("p").GPUs(2).On("w").Phase(corev1.PodFailed).Obj()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestState(t)
			pod := full(tc.pod)
			want := recordOf(pod, testVoc)
			out, err := podTransform(s, true)(pod)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := podTransform(s, true)(out); err != nil || !reflect.DeepEqual(again, out) {
				t.Errorf("transforming the cached object again gave %+v (%v), want %+v", again, err, out)
			}
			if tc.pending {
				p, ok := out.(*corev1.Pod)
				if !ok {
					t.Fatalf("pending pod cached as %T, want a trimmed *corev1.Pod", out)
				}
				if p.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != "" || p.Spec.Containers[0].Image != "" {
					t.Error("the trimmed pending pod keeps what bind never reads")
				}
				return
			}
			c, ok := out.(*cachedPod)
			if !ok {
				t.Fatalf("bound pod cached as %T, want *cachedPod", out)
			}
			wantMeta := &metav1.ObjectMeta{Name: "p", Namespace: "default", UID: pod.UID, ResourceVersion: "42"}
			if got := c.GetObjectMeta(); !reflect.DeepEqual(got, wantMeta) {
				t.Errorf("meta %+v, want %+v", got, wantMeta)
			}
			if c.nodeName != pod.Spec.NodeName || c.phase != pod.Status.Phase {
				t.Errorf("node %q phase %q, want %q %q", c.nodeName, c.phase, pod.Spec.NodeName, pod.Status.Phase)
			}
			if key, err := toolscache.MetaNamespaceKeyFunc(c); err != nil || key != "default/p" {
				t.Errorf("cache key %q (%v), want default/p", key, err)
			}
			if !tc.holds {
				if c.record != nil || c.observed != nil {
					t.Errorf("terminated pod holds %+v, observed %v", c.record, c.observed)
				}
				return
			}
			if c.record == nil || !c.record.sameAllocation(want) || c.record.uid != pod.UID || c.record.key != "default/p" {
				t.Fatalf("record %+v, want %+v", c.record, want)
			}
			if (c.record.problem != "") != tc.problem {
				t.Errorf("problem %q, want one: %v", c.record.problem, tc.problem)
			}
			got := slices.Clone(c.observed)
			for i := range got {
				got[i].CPUMilli, got[i].MemoryMiB = 0, 0
			}
			if !reflect.DeepEqual(got, tc.observed) {
				t.Errorf("observed %+v, want %+v", got, tc.observed)
			}
			if c, _ := podTransform(s, false)(pod); c.(*cachedPod).observed != nil {
				t.Error("requests kept for the learner when there is none")
			}
		})
	}
}

// TestSummariesShareTypeLists: pods asking for the same types share one list
// of the state's strings, not each its own.
func TestSummariesShareTypeLists(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("w").Whole(8, "V100").Obj())
	transform := podTransform(s, true)
	a, _ := transform(extendertest.MakePod("a").GPUs(1).Types("V100", "T4").On("w").Obj())
	b, _ := transform(extendertest.MakePod("b").GPUs(2).Types("V100", "T4").On("w").Obj())
	ra, rb := a.(*cachedPod).record, b.(*cachedPod).record
	if len(ra.wholeTypes) != 2 || &ra.wholeTypes[0] != &rb.wholeTypes[0] {
		t.Fatalf("type lists %v and %v are not one copy", ra.wholeTypes, rb.wholeTypes)
	}
	if oa, ob := a.(*cachedPod).observed[0].Types, b.(*cachedPod).observed[0].Types; &oa[0] != &ra.wholeTypes[0] || &ob[0] != &oa[0] {
		t.Fatal("the learner's requests keep their own type lists")
	}
	if other := s.internTypeList([]string{"T4", "V100"}); reflect.DeepEqual(other, ra.wholeTypes) {
		t.Fatal("lists in another order (another preference) were merged")
	}
	if got := s.Snapshot("w").node.Cards[0].Type; got != "V100" {
		t.Fatalf("card type %q", got)
	}
}

// TestPodHandlers drives the pod handlers with what the informer's cache
// holds: summaries of bound pods and trimmed pending pods.
func TestPodHandlers(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("w").Whole(4, "V100").Obj())
	s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "T4").Obj())
	var observed []string
	h := podHandlers(s, NewSightings(func(r *placement.Request) { observed = append(observed, r.String()) }, extendertest.Clock()))
	transform := podTransform(s, true)
	cached := func(p *corev1.Pod) any {
		out, err := transform(full(p))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	steps := []struct {
		name     string
		do       func()
		w, v     []int64
		observed []string
		sizes    Sizes
	}{
		{"a pending GPU pod is observed and holds nothing", func() { h.OnAdd(cached(extendertest.MakePod("a").GPUs(2).Obj()), false) },
			[]int64{0, 0, 0, 0}, []int64{0, 0}, []string{"2"}, Sizes{Nodes: 2, Cards: 6}},
		{"bound by an update: booked, not observed again", func() {
			h.OnUpdate(cached(extendertest.MakePod("a").GPUs(2).Obj()), cached(extendertest.MakePod("a").GPUs(2).On("w").Obj()))
		}, []int64{1000, 1000, 0, 0}, []int64{0, 0}, []string{"2"}, Sizes{Nodes: 2, Cards: 6, BoundPods: 1}},
		{"a bound vGPU pod is observed once and booked on its card", func() {
			h.OnAdd(cached(extendertest.MakePod("s").VGPU(0, 40, 0).Assigned("v", api.CardShare{Index: 1, Cores: 40}).Obj()), false)
		}, []int64{1000, 1000, 0, 0}, []int64{0, 400}, []string{"2", "0.4"}, Sizes{Nodes: 2, Cards: 6, BoundPods: 2}},
		{"an update that changes nothing for the cards", func() {
			p := extendertest.MakePod("s").VGPU(0, 40, 0).Assigned("v", api.CardShare{Index: 1, Cores: 40}).Obj()
			h.OnUpdate(cached(p), cached(p.DeepCopy()))
		}, []int64{1000, 1000, 0, 0}, []int64{0, 400}, []string{"2", "0.4"}, Sizes{Nodes: 2, Cards: 6, BoundPods: 2}},
		{"a pod that finished frees its cards", func() {
			h.OnUpdate(nil, cached(extendertest.MakePod("a").GPUs(2).On("w").Phase(corev1.PodSucceeded).Obj()))
		}, []int64{0, 0, 0, 0}, []int64{0, 400}, []string{"2", "0.4"}, Sizes{Nodes: 2, Cards: 6, BoundPods: 1}},
		{"a deletion seen late carries the summary", func() {
			s := cached(extendertest.MakePod("s").VGPU(0, 40, 0).Assigned("v", api.CardShare{Index: 1, Cores: 40}).Obj())
			h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "default/s", Obj: s})
		}, []int64{0, 0, 0, 0}, []int64{0, 0}, []string{"2", "0.4"}, Sizes{Nodes: 2, Cards: 6}},
	}
	for _, st := range steps {
		st.do()
		if got := used(t, s, "w"); !reflect.DeepEqual(got, st.w) {
			t.Fatalf("%s: w used %v, want %v", st.name, got, st.w)
		}
		if got := used(t, s, "v"); !reflect.DeepEqual(got, st.v) {
			t.Fatalf("%s: v used %v, want %v", st.name, got, st.v)
		}
		if !reflect.DeepEqual(observed, st.observed) {
			t.Fatalf("%s: learner saw %q, want %q", st.name, observed, st.observed)
		}
		if got := s.Sizes(); got != st.sizes {
			t.Fatalf("%s: sizes %+v, want %+v", st.name, got, st.sizes)
		}
	}
}

// TestSummaryConfirmsAssumedPod: the informer's summary of a pod the
// extender bound replaces its assumed record, on the node it was assumed on
// and elsewhere.
func TestSummaryConfirmsAssumedPod(t *testing.T) {
	for _, boundTo := range []string{"v", "u"} {
		t.Run("bound to "+boundTo, func(t *testing.T) {
			s, _ := newTestState(t)
			s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "T4").Obj())
			s.SetNode(extendertest.MakeNode("u").VGPUCards(2, "T4").Obj())
			err := s.Reserve("v", "uid-a", "default/a", func(*NodeSnapshot) (*Holding, error) {
				return &Holding{Shares: []CardShare{{Index: 0, Milli: 500}}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := podTransform(s, false)(extendertest.MakePod("a").VGPU(0, 50, 0).Assigned(boundTo, api.CardShare{Index: 1, Cores: 50}).Obj())
			podHandlers(s, nil).OnAdd(c, false)
			if got := s.Sizes(); got.AssumedPods != 0 || got.BoundPods != 1 {
				t.Fatalf("sizes %+v after confirmation", got)
			}
			want := map[string][]int64{"v": {0, 0}, "u": {0, 0}}
			want[boundTo] = []int64{0, 500}
			for node, w := range want {
				if got := used(t, s, node); !reflect.DeepEqual(got, w) {
					t.Errorf("%s used %v, want %v", node, got, w)
				}
			}
		})
	}
}

// TestInformersPodOfABoundPod: bind asks for pods it may have bound already
// (a retry); the cache answers with the pod's identity and node.
func TestInformersPodOfABoundPod(t *testing.T) {
	bound := full(extendertest.MakePod("b").GPUs(1).On("w").Obj())
	pending := full(extendertest.MakePod("p").GPUs(1).Obj())
	client := fake.NewClientset(extendertest.MakeNode("w").Whole(2, "V100").Obj(), bound, pending)
	s, _ := newTestState(t)
	inf, err := NewInformers(client, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inf.Run(ctx)
	if !inf.WaitForSync(ctx) {
		t.Fatal("informers did not sync")
	}
	got, err := inf.Pod(ctx, "default", "b")
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != bound.UID || got.Spec.NodeName != "w" || got.Name != "b" || got.Namespace != "default" || got.Status.Phase != corev1.PodRunning {
		t.Fatalf("bound pod read as %+v", got)
	}
	got.Name = "changed" // the caller's own copy
	if again, _ := inf.Pod(ctx, "default", "b"); again.Name != "b" {
		t.Fatal("the pod handed out is the cache's own")
	}
	got, err = inf.Pod(ctx, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if req, err := request.Of(got, testVoc); err != nil || !req.GPU() {
		t.Fatalf("pending pod read as %+v (%v): its request is lost", got, err)
	}
}

func TestCachedPodDeepCopy(t *testing.T) {
	s, _ := newTestState(t)
	c := s.summarize(full(extendertest.MakePod("a").GPUs(1).On("w").Obj()), true)
	cp := c.DeepCopyObject().(*cachedPod)
	if cp == c || !reflect.DeepEqual(cp, c) || cp.record != c.record {
		t.Fatalf("copy %+v of %+v: not equal, or not sharing the immutable record", cp, c)
	}
	if !cp.GetObjectKind().GroupVersionKind().Empty() {
		t.Fatal("a summary has a kind")
	}
}
