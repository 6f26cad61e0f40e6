package extender

import (
	"context"
	"strings"
	"sync"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
)

// FuzzStateAnnotations feeds the two annotations the extender reads from
// the API server, a node's gpuplane.io/devices and a bound pod's
// gpuplane.io/assigned, into the state. Whatever they hold: no panic; a
// node whose annotation is unusable takes no GPU pod and says why; and a
// bound pod's cores are never lost: they show on the node's cards, or the
// node reports the booking it could not make.
func FuzzStateAnnotations(f *testing.F) {
	good := extendertest.MakeNode("n").VGPUCards(2, "T4").Obj().Annotations[api.AnnotationDevices]
	assigned := extendertest.MakePod("p").VGPU(0, 50, 0).Assigned("n", api.CardShare{Index: 1, Cores: 50}).Obj().Annotations[api.AnnotationAssigned]
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
		node := extendertest.MakeNode("n").VGPUCards(2, "T4").Annotate(api.AnnotationDevices, devices).Obj()
		pod := extendertest.MakePod("p").VGPU(0, int(cores), int(memUnits)).On("n").Annotate(api.AnnotationAssigned, assignment).Obj()
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
		probe := extendertest.MakePod("probe").VGPU(0, 100, 0).Obj()
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
		req, err := request.Of(pod, testVoc)
		if err != nil || !req.GPU() {
			return
		}
		var asked, used int64
		for _, p := range req.Parts {
			asked += int64(p.Req.Cards) * p.Req.Milli
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

// TestConcurrentBindsOfOnePod: kube-scheduler may bind a pod again while a
// first bind is still running (it gave up waiting, or another replica
// binds). Exactly one bind wins, and the cards written on the pod are those
// of the node it is bound to.
func TestConcurrentBindsOfOnePod(t *testing.T) {
	for round := range 20 {
		h := newHarness(t, harnessOptions{},
			extendertest.MakeNode("a").VGPUCards(1, "T4").Obj(), extendertest.MakeNode("b").VGPUCards(1, "T4").Obj(), extendertest.MakePod("p").VGPU(0, 40, 0).Obj())
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
