package extender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// TestSchedulingWhileTheClusterChanges races, on the same nodes, binds
// against each other and against informer events, while filter and
// prioritize read those nodes among enough others to be split across
// workers; then checks that no card ends up with more than it holds.
//
// Each contested node has two T4 cards and is asked for six shares of
// 60%: two fit, one per card, and the others must be refused. The binds of
// one node start together from different goroutines, so a Reserve that
// did not see the booking of another (no per-node lock) puts two shares on
// one card. The
// informer events are pods without GPUs bound to the same nodes: they
// rebuild the nodes' snapshots while the binds book, and cannot overbook a
// card themselves.
func TestSchedulingWhileTheClusterChanges(t *testing.T) {
	const (
		nodes     = 2 * minChunk
		contested = 20
		perNode   = 6 // shares asked of each contested node
	)
	var objs []runtime.Object
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%04d", i)
		objs = append(objs, extendertest.MakeNode(names[i]).VGPUCards(2, "T4").Obj())
	}
	h := newHarness(t, harnessOptions{policy: placement.PolicyAuto}, objs...)
	for g := range perNode {
		for n := range contested {
			h.create(extendertest.MakePod(fmt.Sprintf("b%d-%02d", g, n)).VGPU(0, 60, 0).Obj())
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		pod := extendertest.MakePod("probe").VGPU(0, 50, 8).Obj()
		for range 20 {
			res := h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
			h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: res.NodeNames})
		}
	})
	wg.Go(func() {
		for n := range contested {
			// The binds of one node start together, each from its own
			// goroutine, and the next node's when they are done.
			var binds sync.WaitGroup
			start := make(chan struct{})
			for g := range perNode {
				binds.Go(func() {
					<-start
					_ = h.ext.Bind(h.ctx, &extenderv1.ExtenderBindingArgs{PodName: fmt.Sprintf("b%d-%02d", g, n), PodNamespace: "default", Node: names[n]})
				})
			}
			close(start)
			binds.Wait()
		}
	})
	wg.Go(func() {
		for i := range 400 {
			p := extendertest.MakePod(fmt.Sprintf("e%03d", i%40)).On(names[i%contested]).Request(0, corev1.ResourceCPU, "100m").Obj()
			h.state.SetPod(p)
			if i%3 == 0 {
				h.state.DeletePod(p)
			}
		}
	})
	wg.Wait()
	h.sync()
	for _, name := range names[:contested] {
		snap := h.state.Snapshot(name)
		if len(snap.Overbooked()) > 0 {
			t.Errorf("%s overbooked: %q", name, snap.Overbooked())
		}
		used := int64(0)
		for _, c := range snap.Node().Cards {
			used += c.UsedMilli
		}
		if used != 2*600 {
			t.Errorf("%s: %d milli booked, want two shares of 600", name, used)
		}
	}
}

// TestConcurrentAnswersKeepTheirMemory: filter and filter-best lend each
// call pooled memory (its verdicts, snapshots and node names) until its
// answer is written. Calls from several goroutines, each with its own pod
// and candidates, must each get exactly the answer the call alone gets; an
// outcome given back before its answer was written would be another
// call's by then.
func TestConcurrentAnswersKeepTheirMemory(t *testing.T) {
	var objs []runtime.Object
	all := make([]string, 3*minChunk)
	for i := range all {
		all[i] = fmt.Sprintf("n%04d", i)
		if i%3 == 0 {
			objs = append(objs, extendertest.MakeNode(all[i]).Whole(4, "V100").Obj())
		} else {
			objs = append(objs, extendertest.MakeNode(all[i]).VGPUCards(2, "T4").Obj())
		}
	}
	h := newHarness(t, harnessOptions{}, objs...)
	handler := h.ext.Handler(HandlerOptions{})
	half := slices.Clone(all[:len(all)/2])
	slices.Reverse(half)
	type call struct {
		path string
		body []byte
		want extenderv1.ExtenderFilterResult
	}
	var calls []call
	for _, pod := range []*corev1.Pod{
		extendertest.MakePod("share").VGPU(0, 50, 8).Obj(),
		extendertest.MakePod("whole").GPUs(2).Types("V100").Obj(),
		extendertest.MakePod("t4").GPUs(1).Types("T4").Obj(),
	} {
		for _, names := range [][]string{all, half, append(slices.Clone(half[:10]), "ghost")} {
			args := extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}
			for path, verb := range map[string]func() *extenderv1.ExtenderFilterResult{
				"/filter":      func() *extenderv1.ExtenderFilterResult { return h.ext.Filter(h.ctx, &args) },
				"/filter-best": func() *extenderv1.ExtenderFilterResult { return h.ext.FilterBest(h.ctx, &args) },
			} {
				c := call{path: path, body: extendertest.MustMarshal(t, args)}
				if err := json.Unmarshal(extendertest.MustMarshal(t, verb()), &c.want); err != nil {
					t.Fatal(err)
				}
				calls = append(calls, c)
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 40 {
				c := calls[(g*7+i*5)%len(calls)]
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, httptest.NewRequest("POST", c.path, bytes.NewReader(c.body)))
				var got extenderv1.ExtenderFilterResult
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Errorf("%s: answer %q: %v", c.path, rec.Body, err)
					return
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s of %s: %d nodes fit and %d refused, alone %d and %d", c.path, c.body[:40], len(*got.NodeNames), len(got.FailedNodes)+len(got.FailedAndUnresolvableNodes),
						len(*c.want.NodeNames), len(c.want.FailedNodes)+len(c.want.FailedAndUnresolvableNodes))
					return
				}
			}
		})
	}
	wg.Wait()
}
