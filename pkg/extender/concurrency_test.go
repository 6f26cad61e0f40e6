package extender

import (
	"fmt"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// TestSchedulingWhileTheClusterChanges runs filter and prioritize over
// enough nodes to be split across workers while binds book shares and
// informer events come and go, for the race detector; and checks that no
// card ends up with more than it holds.
func TestSchedulingWhileTheClusterChanges(t *testing.T) {
	const nodes = 2 * minChunk
	var objs []runtime.Object
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%04d", i)
		objs = append(objs, makeNode(names[i]).vgpuCards(2, "T4").obj())
	}
	h := newHarness(t, harnessOptions{policy: placement.PolicyAuto}, objs...)
	const binds = 40
	for i := range binds {
		h.create(makePod(fmt.Sprintf("b%02d", i)).vgpu(0, 60, 0).obj())
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		pod := makePod("probe").vgpu(0, 50, 8).obj()
		for range 20 {
			res := h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
			h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: res.NodeNames})
		}
	})
	wg.Go(func() {
		for i := range binds {
			// Two pods per node: the second finds the node's free card.
			_ = h.ext.Bind(h.ctx, &extenderv1.ExtenderBindingArgs{PodName: fmt.Sprintf("b%02d", i), PodNamespace: "default", Node: names[i/2]})
		}
	})
	wg.Go(func() {
		for i := range 200 {
			node := names[nodes-1-i%50]
			p := makePod(fmt.Sprintf("e%03d", i)).vgpu(0, 30, 0).assigned(node, api.CardShare{Index: i % 2, Cores: 30}).obj()
			h.state.SetPod(p)
			if i%3 == 0 {
				h.state.DeletePod(p)
			}
		}
	})
	wg.Wait()
	h.sync()
	for _, name := range names {
		snap := h.state.snapshot(name)
		if len(snap.overbooked) > 0 {
			t.Fatalf("%s overbooked: %q", name, snap.overbooked)
		}
	}
}
