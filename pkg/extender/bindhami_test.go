package extender

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// hamiPodAnnotations are a pod's hami.io/ annotations.
func hamiPodAnnotations(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, "hami.io/") {
			out[k] = v
		}
	}
	return out
}

func (h *harness) node(name string) *corev1.Node {
	h.t.Helper()
	n, err := h.client.CoreV1().Nodes().Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// The extender stands in for HAMi's scheduler: at bind it writes exactly
// the annotations HAMi's device plugin reads, and takes HAMi's node lock.
func TestBindHAMi(t *testing.T) {
	now := strconv.FormatInt(extendertest.Epoch.Unix(), 10)
	cases := []struct {
		name  string
		pod   *corev1.Pod
		devs  string
		slots []int
	}{
		{
			name:  "share: 25% of the cores and 4 GiB",
			pod:   extendertest.MakePod("p").HAMi(0, 1, 25, 4096).Obj(),
			devs:  "GPU-h-0,NVIDIA,4096,25:;",
			slots: []int{1, 0, 0, 0},
		},
		{
			name:  "no core limit",
			pod:   extendertest.MakePod("p").HAMi(0, 1, 0, 1024).Obj(),
			devs:  "GPU-h-0,NVIDIA,1024,0:;",
			slots: []int{1, 0, 0, 0},
		},
		{
			name:  "HAMi's whole cards: all the cores, the card's memory",
			pod:   extendertest.MakePod("p").HAMi(0, 2, 100, 0).Obj(),
			devs:  "GPU-h-0,NVIDIA,16384,100:GPU-h-1,NVIDIA,16384,100:;",
			slots: []int{1, 1, 0, 0},
		},
		{
			name:  "plain nvidia.com/gpu on a HAMi node: whole cards HAMi's device plugin is told of",
			pod:   extendertest.MakePod("p").GPUs(1).Obj(),
			devs:  "GPU-h-0,NVIDIA,16384,0:;",
			slots: []int{1, 0, 0, 0},
		},
		{
			name: "three containers, the middle one without cards",
			pod: extendertest.MakePod("p").HAMi(0, 1, 30, 2048).
				Limit(1, corev1.ResourceCPU, "1").HAMi(2, 1, 50, 8192).Obj(),
			devs:  "GPU-h-0,NVIDIA,2048,30:;;GPU-h-0,NVIDIA,8192,50:;",
			slots: []int{2, 0, 0, 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{}, extendertest.MakeNode("h").HAMiCards(4, "T4", 10).Obj())
			h.create(tc.pod)
			if err := h.bind("p", "h"); err != nil {
				t.Fatal(err)
			}
			pod := h.pod("p")
			want := map[string]string{
				hami.AnnotationToAllocate: tc.devs, hami.AnnotationAllocated: tc.devs,
				hami.AnnotationNode: "h", hami.AnnotationTime: now,
				hami.AnnotationBindPhase: "allocating", hami.AnnotationBindTime: now,
			}
			if got := hamiPodAnnotations(pod); !reflect.DeepEqual(got, want) {
				t.Errorf("HAMi annotations\n %q\nwant\n %q", got, want)
			}
			for k := range pod.Annotations {
				if strings.HasPrefix(k, "tencent.com/") || k == api.AnnotationAssigned {
					t.Errorf("a HAMi pod got %s", k)
				}
			}
			if got, want := h.node("h").Annotations[hami.AnnotationNodeLock], extendertest.Epoch.Format(time.RFC3339)+",default,p"; got != want {
				t.Errorf("node lock %q, want %q", got, want)
			}
			if got := slotsOf(t, h.state, "h"); !reflect.DeepEqual(got, tc.slots) {
				t.Errorf("assumed: tasks %v, want %v", got, tc.slots)
			}
			before := h.state.Snapshot("h").Node().Cards
			h.sync() // the informer confirms: the same booking, from HAMi's annotation
			if after := h.state.Snapshot("h").Node().Cards; !reflect.DeepEqual(before, after) {
				t.Errorf("assumed %+v, confirmed %+v", before, after)
			}
		})
	}
}

func slotsOf(t *testing.T, s *cache.State, node string) []int {
	t.Helper()
	snap := s.Snapshot(node)
	if snap == nil {
		t.Fatalf("node %s unknown", node)
	}
	var out []int
	for _, c := range snap.Node().Cards {
		out = append(out, c.UsedSlots)
	}
	return out
}

func TestBindHAMiNodeLock(t *testing.T) {
	lock := func(at time.Time, name string) string {
		return hami.NodeLock{Time: at, Namespace: "default", Name: name}.String()
	}
	cases := []struct {
		name    string
		lock    string
		holder  bool // the locking pod exists
		refused bool
	}{
		{name: "held by a pod being allocated", lock: lock(extendertest.Epoch.Add(-time.Minute), "other"), holder: true, refused: true},
		{name: "held by a pod that is gone", lock: lock(extendertest.Epoch.Add(-time.Minute), "other")},
		{name: "expired", lock: lock(extendertest.Epoch.Add(-6*time.Minute), "other"), holder: true},
		{name: "unreadable", lock: "yesterday"},
		{name: "a bare time", lock: extendertest.Epoch.Format(time.RFC3339), refused: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{extendertest.MakeNode("h").HAMiCards(1, "T4", 10).Annotate(hami.AnnotationNodeLock, tc.lock).Obj()}
			if tc.holder {
				objs = append(objs, extendertest.MakePod("other").Obj())
			}
			h := newHarness(t, harnessOptions{}, objs...)
			h.create(extendertest.MakePod("p").HAMi(0, 1, 25, 4096).Obj())
			err := h.bind("p", "h")
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "HAMi node lock held") {
					t.Fatalf("bind = %v, want refused for the lock", err)
				}
				if h.pod("p").Spec.NodeName != "" || len(hamiPodAnnotations(h.pod("p"))) != 0 {
					t.Fatal("a refused bind bound or annotated the pod")
				}
				if got := slotsOf(t, h.state, "h"); got[0] != 0 {
					t.Fatalf("a refused bind kept its booking: %v", got)
				}
				if h.node("h").Annotations[hami.AnnotationNodeLock] != tc.lock {
					t.Fatal("a refused bind changed the lock")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := h.node("h").Annotations[hami.AnnotationNodeLock]; !strings.HasSuffix(got, ",default,p") {
				t.Fatalf("lock %q, want it taken by p", got)
			}
		})
	}
}

// A failed pod patch or Binding gives the lock and the booking back.
func TestBindHAMiFailureReleasesTheLock(t *testing.T) {
	for _, sub := range []string{"", "binding"} {
		verb := map[string]string{"": "patch", "binding": "create"}[sub]
		t.Run(verb+" fails", func(t *testing.T) {
			h := newHarness(t, harnessOptions{}, extendertest.MakeNode("h").HAMiCards(1, "T4", 10).Obj())
			h.create(extendertest.MakePod("p").HAMi(0, 1, 25, 4096).Obj())
			h.client.PrependReactor(verb, "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != sub {
					return false, nil, nil
				}
				return true, nil, errors.New("api server says no")
			})
			if err := h.bind("p", "h"); err == nil || !strings.Contains(err.Error(), "api server says no") {
				t.Fatalf("bind = %v, want the API error", err)
			}
			if l, ok := h.node("h").Annotations[hami.AnnotationNodeLock]; ok {
				t.Fatalf("the lock %q stayed after the bind failed", l)
			}
			if got := slotsOf(t, h.state, "h"); got[0] != 0 {
				t.Fatalf("booking kept: %v", got)
			}
		})
	}
}

// The extender restarted mid-way rebuilds, from the pods' HAMi annotations
// and the nodes' registrations, MIG resources and replicas alone, what it
// had booked, and books nothing twice.
func TestRestartRebuildsHAMiMIGAndTimeslice(t *testing.T) {
	nodes := []runtime.Object{
		extendertest.MakeNode("h").HAMiCards(2, "T4", 2).Obj(),
		extendertest.MakeNode("m").MIG("3g.40gb", 2).MIG("1g.10gb", 1).Obj(),
		extendertest.MakeNode("ts").Timeslice(2).Obj(),
	}
	// spread puts the shares where booking each on the first card that
	// holds it would not: only HAMi's annotation tells where they are
	opts := harnessOptions{policy: placement.PolicySpread}
	h := newHarness(t, opts, nodes...)
	h.create(
		extendertest.MakePod("s1").HAMi(0, 1, 40, 4096).Obj(),
		extendertest.MakePod("s2").HAMi(0, 1, 40, 4096).Obj(),
		extendertest.MakePod("s3").HAMi(0, 1, 10, 1024).Obj(),
		extendertest.MakePod("s4").HAMi(0, 1, 10, 1024).Obj(),
		extendertest.MakePod("mig").Limit(0, "nvidia.com/mig-3g.40gb", "2").Obj(),
		extendertest.MakePod("ts1").Limit(0, "nvidia.com/gpu.shared", "1").Obj(),
		extendertest.MakePod("ts2").Limit(0, "nvidia.com/gpu.shared", "1").Obj(),
	)
	for _, b := range [][2]string{{"s1", "h"}, {"s2", "h"}, {"s3", "h"}, {"s4", "h"}, {"mig", "m"}, {"ts1", "ts"}, {"ts2", "ts"}} {
		// HAMi's device plugin allocates each pod and releases the lock
		// before the next bind to the node
		unlock(t, h, "h")
		if err := h.bind(b[0], b[1]); err != nil {
			t.Fatalf("bind %s: %v", b[0], err)
		}
	}
	// and empties the entries it allocated
	for _, name := range []string{"s1", "s2", "s3", "s4"} {
		p := h.pod(name)
		p.Annotations[hami.AnnotationToAllocate] = ";"
		p.Annotations[hami.AnnotationBindPhase] = hami.BindSuccess
		if _, err := h.client.CoreV1().Pods("default").Update(h.ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.sync()
	if got := slotsOf(t, h.state, "h"); !reflect.DeepEqual(got, []int{2, 2}) {
		t.Fatalf("tasks %v, want both cards full (split 2)", got)
	}
	if got := used(t, h.state, "h"); !reflect.DeepEqual(got, []int64{500, 500}) {
		t.Fatalf("used %v, want spread's [500 500]", got)
	}

	restarted := newHarness(t, opts, nodes...)
	restarted.client = h.client
	restarted.ext.client = h.client
	restarted.ext.pods = clientPods{h.client}
	restarted.sync()
	for _, node := range []string{"h", "m", "ts"} {
		before, after := h.state.Snapshot(node).Node(), restarted.state.Snapshot(node).Node()
		if !reflect.DeepEqual(before.Cards, after.Cards) || !reflect.DeepEqual(before.Units, after.Units) {
			t.Errorf("%s: before the restart %+v %+v, after %+v %+v", node, before.Cards, before.Units, after.Cards, after.Units)
		}
		if o := restarted.state.Snapshot(node).Overbooked(); len(o) > 0 {
			t.Errorf("%s: overbooked after the restart: %v", node, o)
		}
	}
	// Nothing is free any more: a bind that found room would book twice.
	unlock(t, restarted, "h")
	restarted.create(
		extendertest.MakePod("late-share").HAMi(0, 1, 5, 256).Obj(),
		extendertest.MakePod("late-mig").Limit(0, "nvidia.com/mig-3g.40gb", "1").Obj(),
		extendertest.MakePod("late-ts").Limit(0, "nvidia.com/gpu.shared", "1").Obj(),
	)
	for _, b := range []struct{ pod, node, why string }{
		{"late-share", "h", "as many tasks as it may (2)"},
		{"late-mig", "m", "0 free mig-3g.40gb, pod needs 1"},
		{"late-ts", "ts", "0 free gpu.shared, pod needs 1"},
	} {
		if err := restarted.bind(b.pod, b.node); err == nil || !strings.Contains(err.Error(), b.why) {
			t.Errorf("after the restart: bind %s = %v, want %q", b.pod, err, b.why)
		}
	}
	// the MIG profile the node still has is served
	restarted.create(extendertest.MakePod("small").Limit(0, "nvidia.com/mig-1g.10gb", "1").Obj())
	if err := restarted.bind("small", "m"); err != nil {
		t.Fatalf("bind of the free 1g.10gb: %v", err)
	}
	if p := restarted.pod("small"); len(p.Annotations) != 0 {
		t.Errorf("a MIG pod got annotations %v: the device plugin picks the instance", p.Annotations)
	}
	if u := restarted.state.Snapshot("m").Node().Units; u[0] != (placement.Units{Name: "mig-1g.10gb", Total: 1, Used: 1}) {
		t.Errorf("units %+v", u)
	}
}

// unlock plays HAMi's device plugin having allocated the pod that locked
// the node: it removes the lock.
func unlock(t *testing.T, h *harness, node string) {
	t.Helper()
	n := h.node(node)
	if _, ok := n.Annotations[hami.AnnotationNodeLock]; !ok {
		return
	}
	delete(n.Annotations, hami.AnnotationNodeLock)
	if _, err := h.client.CoreV1().Nodes().Update(h.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
