package cache

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	clocktesting "k8s.io/utils/clock/testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// used returns the allocated milli of each card of a node, by position.
func used(t *testing.T, s *State, node string) []int64 {
	t.Helper()
	snap := s.Snapshot(node)
	if snap == nil {
		t.Fatalf("node %s unknown", node)
	}
	if got, want := snap.StateKey(), placement.StateKey(snap.Node()); got != want {
		t.Fatalf("node %s: the snapshot's state key is %x, its node's %x", node, got, want)
	}
	if got, want := *snap.Summary(), placement.Summarize(snap.Node()); got != want {
		t.Fatalf("node %s: the snapshot's summary is %+v, its node's %+v", node, got, want)
	}
	out := make([]int64, len(snap.node.Cards))
	for i, c := range snap.node.Cards {
		out[i] = c.UsedMilli
	}
	return out
}

func TestNodeInfoFrom(t *testing.T) {
	cases := []struct {
		name      string
		node      *corev1.Node
		cards     []placement.Card
		whole     bool
		vgpu      bool
		errSubstr string
	}{
		{
			name:  "devices annotation",
			node:  extendertest.MakeNode("n").Whole(2, "V100").Obj(),
			cards: []placement.Card{{Index: 0, UUID: "GPU-n-0", Type: "V100", MemoryMiB: 32768}, {Index: 1, UUID: "GPU-n-1", Type: "V100", MemoryMiB: 32768}},
			whole: true,
		},
		{
			name:  "vGPU node",
			node:  extendertest.MakeNode("n").VGPUCards(1, "A100").Obj(),
			cards: []placement.Card{{Index: 0, UUID: "GPU-n-0", Type: "A100", MemoryMiB: 81920}},
			vgpu:  true,
		},
		{
			name:  "capacity and type label, memory from the catalog",
			node:  extendertest.MakeNode("n").Whole(2, "T4").NoDevices().Obj(),
			cards: []placement.Card{{Index: 0, Type: "T4", MemoryMiB: 16384}, {Index: 1, Type: "T4", MemoryMiB: 16384}},
			whole: true,
		},
		{
			name: "memory label wins over the catalog",
			node: func() *corev1.Node {
				n := extendertest.MakeNode("n").Whole(1, "T4").NoDevices().Obj()
				n.Labels[api.LabelGPUMemory] = "15360"
				return n
			}(),
			cards: []placement.Card{{Index: 0, Type: "T4", MemoryMiB: 15360}},
			whole: true,
		},
		{
			name: "vGPU capacity without annotation",
			node: func() *corev1.Node {
				n := extendertest.MakeNode("n").VGPUCards(3, "T4").NoDevices().Obj()
				n.Status.Allocatable[testVoc.CoreResource] = resource.MustParse("300")
				return n
			}(),
			cards: []placement.Card{{Index: 0, Type: "T4", MemoryMiB: 16384}, {Index: 1, Type: "T4", MemoryMiB: 16384}, {Index: 2, Type: "T4", MemoryMiB: 16384}},
			vgpu:  true,
		},
		{name: "no GPU", node: extendertest.MakeNode("n").Obj()},
		{name: "corrupt devices annotation", node: extendertest.MakeNode("n").Whole(2, "V100").Annotate(api.AnnotationDevices, `[{"index":0`).Obj(), whole: true, errSubstr: "n: annotation gpuplane.io/devices is unreadable"},
		{
			name: "cards without a type",
			node: func() *corev1.Node {
				n := extendertest.MakeNode("n").Whole(2, "V100").NoDevices().Obj()
				delete(n.Labels, "gpu-type")
				return n
			}(),
			whole: true, errSubstr: "neither the gpuplane.io/devices annotation nor a gpu-type label",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := nodeInfoFrom(tc.node, testVoc)
			if tc.errSubstr != "" {
				if info.err == nil || !strings.Contains(info.err.Error(), tc.errSubstr) {
					t.Fatalf("err = %v, want one mentioning %q", info.err, tc.errSubstr)
				}
			} else if info.err != nil {
				t.Fatalf("err = %v", info.err)
			}
			if !reflect.DeepEqual(info.cards, tc.cards) || info.wholeCards != tc.whole || info.vgpu != tc.vgpu {
				t.Fatalf("got cards %+v whole %v vgpu %v; want %+v %v %v", info.cards, info.wholeCards, info.vgpu, tc.cards, tc.whole, tc.vgpu)
			}
		})
	}
}

func TestPodEventsBookCards(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("w").Whole(4, "V100").Obj())
	s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "A100").Obj())

	a := extendertest.MakePod("a").GPUs(2).Types("V100").On("w").Obj()
	b := extendertest.MakePod("b").VGPU(0, 50, 16).Assigned("v", api.CardShare{Index: 1, Cores: 50, MemoryMiB: 4096}).Obj()
	unassigned := extendertest.MakePod("c").VGPU(0, 30, 0).On("v").Obj()
	pending := extendertest.MakePod("d").GPUs(1).Obj()
	steps := []struct {
		name string
		do   func()
		w, v []int64
	}{
		{"nothing yet", func() {}, []int64{0, 0, 0, 0}, []int64{0, 0}},
		{"whole cards counted on idle cards", func() { s.SetPod(a) }, []int64{1000, 1000, 0, 0}, []int64{0, 0}},
		{"share on its assigned card", func() { s.SetPod(b) }, []int64{1000, 1000, 0, 0}, []int64{0, 500}},
		{"share without assignment on the first card that holds it", func() { s.SetPod(unassigned) }, []int64{1000, 1000, 0, 0}, []int64{300, 500}},
		{"pending pods hold nothing", func() { s.SetPod(pending) }, []int64{1000, 1000, 0, 0}, []int64{300, 500}},
		{"a finished pod frees its cards", func() {
			done := a.DeepCopy()
			done.Status.Phase = corev1.PodSucceeded
			s.SetPod(done)
		}, []int64{0, 0, 0, 0}, []int64{300, 500}},
		{"a deleted pod frees its share", func() { s.DeletePod(b) }, []int64{0, 0, 0, 0}, []int64{300, 0}},
		{"an update that changes nothing", func() { s.SetPod(unassigned.DeepCopy()) }, []int64{0, 0, 0, 0}, []int64{300, 0}},
	}
	for _, st := range steps {
		st.do()
		if got := used(t, s, "w"); !reflect.DeepEqual(got, st.w) {
			t.Fatalf("%s: node w used %v, want %v", st.name, got, st.w)
		}
		if got := used(t, s, "v"); !reflect.DeepEqual(got, st.v) {
			t.Fatalf("%s: node v used %v, want %v", st.name, got, st.v)
		}
	}
	if got := s.Sizes(); got != (Sizes{Nodes: 2, Cards: 6, BoundPods: 1}) {
		t.Fatalf("sizes %+v", got)
	}
}

// A snapshot showing another node (its cards' load) keys that node: the
// key is what the policy's cache finds results by.
func TestWithNodeKeysTheNodeShown(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "A100").Obj())
	snap := s.Snapshot("v")
	n := *snap.Node()
	n.Cards = slices.Clone(n.Cards)
	n.Cards[1].UsedMilli = 500
	shown := snap.WithNode(n)
	if got, want := shown.StateKey(), placement.StateKey(shown.Node()); got != want || got == snap.StateKey() {
		t.Fatalf("WithNode's key %x, its node's %x, the original's %x", got, want, snap.StateKey())
	}
	if got, want := *shown.Summary(), placement.Summarize(shown.Node()); got != want || got == *snap.Summary() {
		t.Fatalf("WithNode's summary %+v, its node's %+v, the original's %+v", got, want, *snap.Summary())
	}
}

func TestPodBeforeItsNode(t *testing.T) {
	s, _ := newTestState(t)
	s.SetPod(extendertest.MakePod("a").GPUs(1).On("late").Obj())
	snap := s.Snapshot("late")
	if snap == nil || snap.err == nil || !strings.Contains(snap.err.Error(), "late: no such node known") {
		t.Fatalf("snapshot of a node known only from a pod: %+v", snap)
	}
	s.SetNode(extendertest.MakeNode("late").Whole(2, "T4").Obj())
	if got := used(t, s, "late"); !reflect.DeepEqual(got, []int64{1000, 0}) {
		t.Fatalf("used %v", got)
	}
	s.DeleteNode("late")
	if snap := s.Snapshot("late"); snap == nil || snap.err == nil {
		t.Fatal("a deleted node with pods left should stay, unusable")
	}
	s.DeletePod(extendertest.MakePod("a").On("late").Obj())
	if snap := s.Snapshot("late"); snap != nil {
		t.Fatal("a node with neither object nor pods should be forgotten")
	}
}

func TestAssumedLifecycle(t *testing.T) {
	share := func(card int, milli int64) func(*NodeSnapshot) (*Holding, error) {
		return func(*NodeSnapshot) (*Holding, error) {
			return &Holding{Shares: []CardShare{{Index: card, Milli: milli, MemoryMiB: 1024}}}, nil
		}
	}
	t.Run("confirmed by the informer", func(t *testing.T) {
		s, _ := newTestState(t)
		s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "T4").Obj())
		if err := s.Reserve("v", "uid-a", "default/a", share(0, 500)); err != nil {
			t.Fatal(err)
		}
		if got := used(t, s, "v"); !reflect.DeepEqual(got, []int64{500, 0}) {
			t.Fatalf("assumed share not booked: %v", got)
		}
		pod := extendertest.MakePod("a").VGPU(0, 50, 4).Assigned("v", api.CardShare{Index: 0, Cores: 50, MemoryMiB: 1024}).Obj()
		s.SetPod(pod)
		if got := s.Sizes(); got.AssumedPods != 0 || got.BoundPods != 1 {
			t.Fatalf("after confirmation: %+v", got)
		}
		if err := s.Reserve("v", "uid-a", "default/a", share(1, 100)); !errors.Is(err, ErrAlreadyHeld) {
			t.Fatalf("Reserve of a bound pod = %v, want ErrAlreadyHeld", err)
		}
		if got := used(t, s, "v"); !reflect.DeepEqual(got, []int64{500, 0}) {
			t.Fatalf("used %v", got)
		}
	})
	t.Run("forgotten after a failed bind", func(t *testing.T) {
		s, _ := newTestState(t)
		s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "T4").Obj())
		if err := s.Reserve("v", "uid-a", "default/a", share(1, 700)); err != nil {
			t.Fatal(err)
		}
		s.Forget("uid-a")
		if got := used(t, s, "v"); !reflect.DeepEqual(got, []int64{0, 0}) {
			t.Fatalf("used %v after Forget", got)
		}
	})
	t.Run("expired after the TTL", func(t *testing.T) {
		s, clk := newTestState(t)
		s.SetNode(extendertest.MakeNode("v").VGPUCards(2, "T4").Obj())
		if err := s.Reserve("v", "uid-a", "default/a", share(1, 700)); err != nil {
			t.Fatal(err)
		}
		clk.Step(59 * time.Second)
		if n := s.Expire(); n != 0 {
			t.Fatalf("expired %d before the TTL", n)
		}
		clk.Step(2 * time.Second)
		if n := s.Expire(); n != 1 {
			t.Fatalf("expired %d, want 1", n)
		}
		if got := used(t, s, "v"); !reflect.DeepEqual(got, []int64{0, 0}) {
			t.Fatalf("an expired record still counts: %v", got)
		}
		if got := s.Sizes(); got.AssumedPods != 0 {
			t.Fatalf("sizes %+v", got)
		}
	})
	t.Run("bound elsewhere than assumed", func(t *testing.T) {
		s, _ := newTestState(t)
		s.SetNode(extendertest.MakeNode("v").VGPUCards(1, "T4").Obj())
		s.SetNode(extendertest.MakeNode("x").VGPUCards(1, "T4").Obj())
		if err := s.Reserve("v", "uid-a", "default/a", share(0, 700)); err != nil {
			t.Fatal(err)
		}
		s.SetPod(extendertest.MakePod("a").VGPU(0, 70, 4).Assigned("x", api.CardShare{Index: 0, Cores: 70, MemoryMiB: 1024}).Obj())
		if got := used(t, s, "v"); !reflect.DeepEqual(got, []int64{0}) {
			t.Fatalf("assumed record left behind on v: %v", got)
		}
		if got := used(t, s, "x"); !reflect.DeepEqual(got, []int64{700}) {
			t.Fatalf("x used %v", got)
		}
	})
	t.Run("deleted before the informer saw it bound", func(t *testing.T) {
		s, _ := newTestState(t)
		s.SetNode(extendertest.MakeNode("v").VGPUCards(1, "T4").Obj())
		if err := s.Reserve("v", "uid-a", "default/a", share(0, 700)); err != nil {
			t.Fatal(err)
		}
		s.DeletePod(extendertest.MakePod("a").Obj())
		if got := used(t, s, "v"); !reflect.DeepEqual(got, []int64{0}) {
			t.Fatalf("used %v", got)
		}
	})
}

func TestOverbookingIsReported(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("v").VGPUCards(1, "T4").Obj())
	s.SetPod(extendertest.MakePod("a").VGPU(0, 70, 0).Assigned("v", api.CardShare{Index: 0, Cores: 70}).Obj())
	s.SetPod(extendertest.MakePod("b").VGPU(0, 70, 0).Assigned("v", api.CardShare{Index: 0, Cores: 70}).Obj())
	snap := s.Snapshot("v")
	if len(snap.overbooked) != 1 || snap.node.Cards[0].UsedMilli != 1000 {
		t.Fatalf("overbooked %q, used %d", snap.overbooked, snap.node.Cards[0].UsedMilli)
	}
	if err := snap.node.Validate(); err != nil {
		t.Fatalf("the snapshot must stay a valid node for placement: %v", err)
	}
}

var testVoc = request.VocabularyFrom(catalog.Default())

// newTestState returns an empty state on a fake clock.
func newTestState(t testing.TB) (*State, *clocktesting.FakeClock) {
	clk := extendertest.Clock()
	return NewState(testVoc, clk, time.Minute, extendertest.Logger(t)), clk
}

// Resolve reads pending names into the state's own strings and finds
// their snapshots, following nodes as they come and go.
func TestResolveFollowsNodesComingAndGoing(t *testing.T) {
	s, _ := newTestState(t)
	body := []byte(`"a","b","ghost"`)
	spans := [][2]int{{1, 2}, {5, 6}, {9, 14}}
	pending := func(i int) []byte { return body[spans[i][0]:spans[i][1]] }
	resolve := func() ([]string, []*NodeSnapshot) {
		names, out := make([]string, 3), make([]*NodeSnapshot, 3)
		s.Resolve(names, pending, out)
		return names, out
	}
	s.SetNode(extendertest.MakeNode("a").Whole(2, "V100").Obj())
	names, out := resolve()
	if !reflect.DeepEqual(names, []string{"a", "b", "ghost"}) || out[0] == nil || out[1] != nil || out[2] != nil {
		t.Fatalf("with node a: names %q, snapshots %v", names, out)
	}
	again, _ := resolve()
	if unsafe.StringData(again[0]) != unsafe.StringData(names[0]) {
		t.Fatal("a known node's name is a new string in each call, not the state's own")
	}
	s.SetNode(extendertest.MakeNode("b").Whole(1, "T4").Obj())
	if _, out := resolve(); out[1] == nil || out[1].Node().Cards[0].Type != "T4" {
		t.Fatalf("node b came and is not found: %v", out)
	}
	s.DeleteNode("a")
	if _, out := resolve(); out[0] != nil {
		t.Fatalf("node a went and is still found: %v", out[0].Node())
	}
	s.SetNode(extendertest.MakeNode("a").Whole(4, "A100").Obj())
	if _, out := resolve(); out[0] == nil || len(out[0].Node().Cards) != 4 {
		t.Fatalf("node a came back and is not found as it is now: %v", out[0])
	}
	// Names given as strings are looked up as they are.
	names = []string{"b", "nobody"}
	out = make([]*NodeSnapshot, 2)
	s.Resolve(names, nil, out)
	if out[0] == nil || out[1] != nil {
		t.Fatalf("Snapshots of b and nobody: %v", out)
	}
}
