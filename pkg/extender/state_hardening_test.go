package extender

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// TestStateDistrustsEditedAssignments: gpuplane.io/assigned is written by
// the extender but lives on the pod, where anyone who may edit the pod can
// change it, while the pod's resources cannot change once it exists. A pod
// whose annotation claims less than its resources ask for must still be
// booked for what it asks, or the card it runs on would be handed out
// again.
func TestStateDistrustsEditedAssignments(t *testing.T) {
	cases := []struct {
		name string
		// the bound pod: its resources and its (edited) assignment
		cores, memUnits int
		shares          []api.CardShare
		// wantMilli and wantMemMiB are what card 0 must show at least
		wantMilli, wantMemMiB int64
	}{
		{name: "fewer cores than asked", cores: 60, shares: []api.CardShare{{Index: 0, Cores: 10}},
			wantMilli: 600},
		{name: "less memory than asked", cores: 20, memUnits: 48, shares: []api.CardShare{{Index: 0, Cores: 20, MemoryMiB: 256}},
			wantMilli: 200, wantMemMiB: 48 * 256},
		{name: "one virtual card of two", cores: 200, shares: []api.CardShare{{Index: 0, Cores: 100}},
			wantMilli: 2000},
		{name: "as written by the extender", cores: 60, memUnits: 8, shares: []api.CardShare{{Index: 0, Cores: 60, MemoryMiB: 2048}},
			wantMilli: 600, wantMemMiB: 2048},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestState(t)
			s.SetNode(makeNode("n").vgpuCards(2, "T4").obj())
			s.SetPod(makePod("p").vgpu(0, tc.cores, tc.memUnits).assigned("n", tc.shares...).obj())
			view := s.View()
			var milli, mem int64
			for _, c := range view.Nodes[0].Cards {
				milli += c.UsedMilli
				mem += c.UsedMemoryMiB
			}
			if milli < tc.wantMilli || mem < tc.wantMemMiB {
				t.Fatalf("the node's cards show %d milli and %d MiB used, want at least %d and %d: %+v",
					milli, mem, tc.wantMilli, tc.wantMemMiB, view.Nodes[0])
			}
		})
	}
}

// FuzzStateAnnotations feeds the two annotations the extender reads from
// the API server, a node's gpuplane.io/devices and a bound pod's
// gpuplane.io/assigned, into the state. Whatever they hold: no panic; a
// node whose annotation is unusable takes no GPU pod and says why; and a
// bound pod's cores are never lost: they show on the node's cards, or the
// node reports the booking it could not make.
func FuzzStateAnnotations(f *testing.F) {
	good := makeNode("n").vgpuCards(2, "T4").obj().Annotations[api.AnnotationDevices]
	assigned := makePod("p").vgpu(0, 50, 0).assigned("n", api.CardShare{Index: 1, Cores: 50}).obj().Annotations[api.AnnotationAssigned]
	f.Add(good, assigned, uint8(50), uint8(0))
	f.Add(good, `{"version":"v1","node":"n","containers":[{"index":0,"name":"main","cards":[{"index":7,"cores":50,"memoryMiB":0}]}]}`, uint8(50), uint8(0))
	f.Add(good, `{"version":"v1","node":"other","containers":[{"index":0,"name":"main","cards":[{"index":0,"cores":50,"memoryMiB":0}]}]}`, uint8(50), uint8(4))
	f.Add(good, `{"version":"v1","node":"n","containers":[{"index":0,"name":"main","cards":[{"index":0,"cores":100,"memoryMiB":1},{"index":1,"cores":100,"memoryMiB":1}]}]}`, uint8(200), uint8(0))
	f.Add(`[{"index":0,"type":"T4","memoryMiB":16384},{"index":0,"type":"T4","memoryMiB":16384}]`, assigned, uint8(50), uint8(0))
	f.Add(`[{"index":5,"uuid":"GPU-5","type":"T4","memoryMiB":1}]`, assigned, uint8(99), uint8(200))
	f.Add(`[{"index":0,"type":"NoSuchType","memoryMiB":16384}]`, assigned, uint8(1), uint8(1))
	f.Add(`[]`, ``, uint8(0), uint8(0))
	f.Add(`null`, `null`, uint8(100), uint8(0))
	f.Add(`[{`, `{"version":"v2"}`, uint8(30), uint8(0))

	f.Fuzz(func(t *testing.T, devices, assignment string, cores, memUnits uint8) {
		node := makeNode("n").vgpuCards(2, "T4").annotate(api.AnnotationDevices, devices).obj()
		pod := makePod("p").vgpu(0, int(cores), int(memUnits)).on("n").annotate(api.AnnotationAssigned, assignment).obj()
		h := newHarness(t, harnessOptions{}, node, pod)
		view := h.state.View()
		if len(view.Nodes) != 1 {
			t.Fatalf("state holds %d nodes, want 1", len(view.Nodes))
		}
		n := view.Nodes[0]
		_, decodeErr := api.DecodeDevices(devices)
		if decodeErr != nil && n.Error == "" {
			t.Fatalf("devices %q do not decode (%v) but the node has no error", devices, decodeErr)
		}

		// A share of one card asked on the node: filtered with a reason
		// naming the node when the node is unusable or full.
		names := []string{"n"}
		probe := makePod("probe").vgpu(0, 100, 0).obj()
		res := h.ext.Filter(context.Background(), &extenderv1.ExtenderArgs{Pod: probe, NodeNames: &names})
		fits := res.NodeNames != nil && len(*res.NodeNames) == 1
		if n.Error != "" && fits {
			t.Fatalf("a node with error %q takes a GPU pod", n.Error)
		}
		if !fits {
			reason := res.FailedNodes["n"] + res.FailedAndUnresolvableNodes["n"]
			if !strings.Contains(reason, "n") {
				t.Fatalf("node n filtered with reason %q", reason)
			}
		}
		if n.Error != "" || pod.Spec.Containers[0].Resources.Limits == nil {
			return
		}
		req, err := translate(pod, testVoc)
		if err != nil || !req.gpu() {
			return
		}
		var asked, used int64
		for _, p := range req.parts {
			asked += int64(p.req.Cards) * p.req.Milli
		}
		for _, c := range n.Cards {
			used += c.UsedMilli
		}
		if used < asked && len(n.Overbooked) == 0 {
			t.Fatalf("pod asks for %d milli, the cards show %d used and nothing overbooked: %+v", asked, used, n)
		}
		if fits {
			free := false
			for _, c := range n.Cards {
				free = free || c.UsedMilli == 0
			}
			if !free {
				t.Fatalf("a whole card promised on a node whose cards all hold something: %+v", n)
			}
		}
	})
}

// TestReserveRefusesASecondBindOfAPod: while a pod is held as assumed (its
// bind in flight, or done and not yet seen by the informer), another bind
// of it, on this node or another, is refused and leaves the first booking
// alone; once the first is forgotten, the pod may be booked again.
func TestReserveRefusesASecondBindOfAPod(t *testing.T) {
	s, _ := newTestState(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		s.SetNode(makeNode(n).vgpuCards(1, "T4").obj())
	}
	plan := func(*nodeSnapshot) (*podRecord, error) {
		return &podRecord{shares: []cardShare{{index: 0, milli: 400}}}, nil
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b", "c", "d", "a", "b"} {
		wg.Go(func() {
			if err := s.Reserve(n, "uid-p", "default/p", plan); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrAlreadyHeld) {
				t.Errorf("Reserve on %s: %v, want ErrAlreadyHeld", n, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d Reserves of one pod succeeded, want 1", wins.Load())
	}
	booked := func() (nodes []string) {
		for _, n := range s.View().Nodes {
			if n.Cards[0].UsedMilli > 0 {
				nodes = append(nodes, n.Name)
			}
		}
		return nodes
	}
	held := booked()
	if len(held) != 1 || s.Sizes().AssumedPods != 1 {
		t.Fatalf("booked on %v with %d assumed, want one node", held, s.Sizes().AssumedPods)
	}
	s.Forget("uid-p")
	if got := booked(); len(got) != 0 {
		t.Fatalf("booked on %v after Forget", got)
	}
	if err := s.Reserve("c", "uid-p", "default/p", plan); err != nil {
		t.Fatalf("Reserve after Forget: %v", err)
	}
}

// TestConcurrentBindsOfOnePod: kube-scheduler may bind a pod again while a
// first bind is still running (it gave up waiting, or another replica
// binds). Exactly one bind wins, and the cards written on the pod are those
// of the node it is bound to.
func TestConcurrentBindsOfOnePod(t *testing.T) {
	for round := range 20 {
		h := newHarness(t, harnessOptions{},
			makeNode("a").vgpuCards(1, "T4").obj(), makeNode("b").vgpuCards(1, "T4").obj(), makePod("p").vgpu(0, 40, 0).obj())
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, n := range []string{"a", "b"} {
			wg.Go(func() {
				<-start
				errs[i] = h.bind("p", n)
			})
		}
		close(start)
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: binds to a and b returned %v and %v, want exactly one success", round, errs[0], errs[1])
		}
		p := h.pod("p")
		a, err := api.DecodeAssignment(p.Annotations[api.AnnotationAssigned])
		if err != nil || a.Node != p.Spec.NodeName || p.Annotations[api.AnnotationPredicateNode] != p.Spec.NodeName {
			t.Fatalf("round %d: pod bound to %q carries assignment %+v (%v) and predicate-node %q",
				round, p.Spec.NodeName, a, err, p.Annotations[api.AnnotationPredicateNode])
		}
		h.sync()
		fuzzCheckNotOverbooked(t, h.state)
		for _, n := range h.state.View().Nodes {
			if used := n.Cards[0].UsedMilli; (n.Name == p.Spec.NodeName) != (used == 400) || (n.Name != p.Spec.NodeName && used != 0) {
				t.Fatalf("round %d: pod on %s, node %s shows %d milli used", round, p.Spec.NodeName, n.Name, used)
			}
		}
	}
}
