package extender

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
)

// A pod filter-best found no node for is tried again (its requeued
// annotation written) after a change that may make room, when the change
// came after the call began and within the window; never otherwise.
func TestRequeue(t *testing.T) {
	// "small" has 1 V100, "busy" 2 held by "holder"; "waiting" asks 2
	// (1 where it fits).
	holder := extendertest.MakePod("holder").GPUs(2).On("busy").Phase(corev1.PodRunning).Obj()
	grown := extendertest.MakeNode("small").Whole(2, "V100").Obj()
	cases := []struct {
		name string
		// before runs before the filter call, after between it and Requeue.
		before, after func(h *harness)
		asks          int
		want          bool
	}{
		{name: "a node's cards grew after the call", asks: 2, want: true,
			after: func(h *harness) { h.state.SetNode(grown) }},
		{name: "a pod holding cards went after the call", asks: 2, want: true,
			after: func(h *harness) { h.state.DeletePod(holder) }},
		{name: "a pod holding cards finished after the call", asks: 2, want: true,
			after: func(h *harness) {
				done := holder.DeepCopy()
				done.Status.Phase = corev1.PodSucceeded
				h.state.SetPod(done)
			}},
		{name: "nothing changed", asks: 2},
		{name: "the change came before the call", asks: 2,
			before: func(h *harness) { h.state.DeletePod(holder) }},
		{name: "the change came after the window", asks: 2,
			after: func(h *harness) {
				h.clock.Step(DefaultRequeueWindow + time.Millisecond)
				h.state.SetNode(grown)
			}},
		{name: "the extender's own bind", asks: 2,
			after: func(h *harness) {
				h.create(extendertest.MakePod("other").GPUs(1).Obj())
				if err := h.bind("other", "small"); err != nil {
					h.t.Fatal(err)
				}
			}},
		{name: "a pending pod changed", asks: 2,
			after: func(h *harness) { h.state.SetPod(extendertest.MakePod("other").GPUs(1).Obj()) }},
		{name: "the pod fit", asks: 1,
			after: func(h *harness) { h.state.SetNode(grown) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{requeue: true},
				extendertest.MakeNode("small").Whole(1, "V100").Obj(), extendertest.MakeNode("busy").Whole(2, "V100").Obj(), holder)
			waiting := extendertest.MakePod("waiting").GPUs(tc.asks).Obj()
			h.create(waiting)
			if tc.before != nil {
				tc.before(h)
			}
			names := []string{"small", "busy"}
			h.ext.FilterBest(h.ctx, &extenderv1.ExtenderArgs{Pod: waiting, NodeNames: &names})
			h.clock.Step(10 * time.Millisecond)
			if tc.after != nil {
				tc.after(h)
			}
			n := h.requeue.Requeue(h.ctx)
			got, ok := h.pod("waiting").Annotations[api.AnnotationRequeued]
			if ok != tc.want || (n == 1) != tc.want {
				t.Fatalf("requeued %d pods, annotation %q (%v); want requeued: %v", n, got, ok, tc.want)
			}
			if tc.want {
				if want := h.clock.Now().UTC().Format(time.RFC3339Nano); got != want {
					t.Errorf("annotation %s = %q, want %q", api.AnnotationRequeued, got, want)
				}
				if v := counterValue(t, h.ext.metrics.requeued); v != 1 {
					t.Errorf("requeued counter %v, want 1", v)
				}
				// Once: a second change does not requeue it again.
				h.state.SetNode(extendertest.MakeNode("small").Whole(3, "V100").Obj())
				if n := h.requeue.Requeue(h.ctx); n != 0 {
					t.Errorf("a second change requeued %d pods, want 0", n)
				}
			}
		})
	}
}

// Run requeues a pod refused on a picture a change had already moved past
// when it was recorded, the change's signal taken before.
func TestRequeuerRun(t *testing.T) {
	h := newHarness(t, harnessOptions{requeue: true},
		extendertest.MakeNode("small").Whole(1, "V100").Obj())
	waiting := extendertest.MakePod("waiting").GPUs(2).Obj()
	h.create(waiting)
	// Refused with the count of before a change whose signal is gone by
	// the time the pod is recorded: Run must requeue it all the same.
	freed := h.state.Freed()
	h.state.SetNode(extendertest.MakeNode("small").Whole(2, "V100").Obj())
	<-h.state.FreedSignal()
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.requeue.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h.requeue.Refused(waiting, freed)
	requeued := func() bool {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, ok := h.pod("waiting").Annotations[api.AnnotationRequeued]; ok {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	if !requeued() {
		t.Fatal("a pod refused before a change it was recorded after was not requeued")
	}
}

// A pod deleted before it could be requeued is neither patched nor counted.
func TestRequeueGonePod(t *testing.T) {
	h := newHarness(t, harnessOptions{requeue: true},
		extendertest.MakeNode("small").Whole(1, "V100").Obj())
	waiting := extendertest.MakePod("waiting").GPUs(2).Obj()
	h.create(waiting)
	names := []string{"small"}
	h.ext.FilterBest(h.ctx, &extenderv1.ExtenderArgs{Pod: waiting, NodeNames: &names})
	if err := h.client.CoreV1().Pods("default").Delete(h.ctx, "waiting", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.state.SetNode(extendertest.MakeNode("small").Whole(2, "V100").Obj())
	if n := h.requeue.Requeue(h.ctx); n != 0 {
		t.Errorf("requeued %d pods, want 0: the pod is gone", n)
	}
	if v := counterValue(t, h.ext.metrics.requeued); v != 0 {
		t.Errorf("requeued counter %v, want 0", v)
	}
}
