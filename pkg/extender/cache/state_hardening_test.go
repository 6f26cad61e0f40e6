package cache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
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
			s.SetNode(extendertest.MakeNode("n").VGPUCards(2, "T4").Obj())
			s.SetPod(extendertest.MakePod("p").VGPU(0, tc.cores, tc.memUnits).Assigned("n", tc.shares...).Obj())
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

// TestReserveRefusesASecondBindOfAPod: while a pod is held as assumed (its
// bind in flight, or done and not yet seen by the informer), another bind
// of it, on this node or another, is refused and leaves the first booking
// alone; once the first is forgotten, the pod may be booked again.
func TestReserveRefusesASecondBindOfAPod(t *testing.T) {
	s, _ := newTestState(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		s.SetNode(extendertest.MakeNode(n).VGPUCards(1, "T4").Obj())
	}
	plan := func(*NodeSnapshot) (*Holding, error) {
		return &Holding{Shares: []CardShare{{Index: 0, Milli: 400}}}, nil
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
