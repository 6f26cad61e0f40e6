package cache

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
	corev1 "k8s.io/api/core/v1"
)

// The pod informer shows the learner a pod once, not one a filter call
// showed first; a deleted pod stays seen for rememberDeleted (kube-scheduler
// may still ask about it), then it is forgotten.
func TestSightingsInformer(t *testing.T) {
	s, clk := newTestState(t)
	s.SetNode(extendertest.MakeNode("w").Whole(4, "V100").Obj())
	var observed []string
	seen := NewSightings(func(r *placement.Request) { observed = append(observed, r.String()) }, clk)
	filter := func(p *corev1.Pod) {
		req, err := request.Of(p, s.voc)
		if err != nil {
			t.Fatal(err)
		}
		seen.ObserveRequests(p.UID, &req)
	}
	h := podHandlers(s, seen)
	cpuPod := extendertest.MakePod("c").Request(0, corev1.ResourceCPU, "4").Obj()
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"a filter call first", func() { seen.ObservePod(extendertest.MakePod("a").GPUs(2).Obj(), s.voc) }, []string{"2"}},
		{"the informer's add: not again", func() { h.OnAdd(extendertest.MakePod("a").GPUs(2).Obj(), false) }, []string{"2"}},
		{"the informer first", func() { h.OnAdd(extendertest.MakePod("b").GPUs(1).Obj(), false) }, []string{"2", "1"}},
		{"deleted", func() { h.OnDelete(extendertest.MakePod("a").GPUs(2).Obj()) }, []string{"2", "1"}},
		{"a filter call about it after its deletion: not again", func() {
			clk.Step(rememberDeleted - time.Second)
			filter(extendertest.MakePod("a").GPUs(2).Obj())
		}, []string{"2", "1"}},
		{"another deletion, later: the first one forgotten", func() {
			clk.Step(time.Second)
			h.OnDelete(extendertest.MakePod("b").GPUs(1).Obj())
			if _, ok := seen.seen[extendertest.MakePod("a").Obj().UID]; ok {
				t.Errorf("pod a still remembered %s after its deletion", rememberDeleted)
			}
			if len(seen.gone) != 1 {
				t.Errorf("%d deleted pods remembered, want 1 (b)", len(seen.gone))
			}
		}, []string{"2", "1"}},
		{"the informer's pod without GPU: not counted", func() { h.OnAdd(cpuPod, false) }, []string{"2", "1"}},
		{"a filter call about it", func() { filter(cpuPod) }, []string{"2", "1", "0"}},
	}
	for _, st := range steps {
		st.do()
		if !slices.Equal(observed, st.want) {
			t.Fatalf("%s: observed %v, want %v", st.name, observed, st.want)
		}
	}
}

// A filter call about a pod the informer's handler is still showing the
// learner waits until the pod is in the mix: placed against a mix without
// it, the pod would go where the simulator does not send it.
func TestSightingsFilterWaitsForTheInformersObservation(t *testing.T) {
	s, clk := newTestState(t)
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var observed []string
	seen := NewSightings(func(r *placement.Request) {
		if len(observed) == 0 {
			close(started)
			<-release // the learner recompiling its mix, slowly
		}
		mu.Lock()
		observed = append(observed, r.String())
		mu.Unlock()
	}, clk)
	h := podHandlers(s, seen)
	pod := extendertest.MakePod("a").GPUs(2).Obj()
	go h.OnAdd(pod, false)
	<-started
	req, err := request.Of(pod, s.voc)
	if err != nil {
		t.Fatal(err)
	}
	placed := make(chan []string)
	go func() {
		seen.ObserveRequests(pod.UID, &req)
		mu.Lock()
		placed <- slices.Clone(observed)
		mu.Unlock()
	}()
	select {
	case got := <-placed:
		close(release)
		t.Fatalf("the filter call went on while the informer was still showing the pod; the mix then held %v", got)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got := <-placed; !slices.Equal(got, []string{"2"}) {
		t.Fatalf("the filter call went on with the mix holding %v, want [2]", got)
	}
}
