package extender

import (
	"slices"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// TestSightings checks that the learner sees every pod once, before
// the pod is placed, whichever comes first: the informer's sight of it
// (cache.Sightings.ObservePod, what the pod informer calls) or
// kube-scheduler's filter call about it.
func TestSightings(t *testing.T) {
	var observed []string
	seen := cache.NewSightings(func(r *placement.Request) { observed = append(observed, r.String()) }, extendertest.Clock())
	h := newHarness(t, harnessOptions{sightings: seen}, extendertest.MakeNode("n").Whole(4, "V100").Obj())
	informer := func(p *extendertest.PodBuilder) { seen.ObservePod(p.Obj(), testVoc) }
	filter := func(p *extendertest.PodBuilder) {
		names := []string{"n"}
		h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: p.Obj(), NodeNames: &names})
	}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"filter before the informer: observed by the filter", func() { filter(extendertest.MakePod("a").GPUs(2)) }, []string{"2"}},
		{"the informer's sight later: not again", func() { informer(extendertest.MakePod("a").GPUs(2)) }, []string{"2"}},
		{"the informer first: observed by it", func() { informer(extendertest.MakePod("b").GPUs(1)) }, []string{"2", "1"}},
		{"the filter after the informer: not again", func() { filter(extendertest.MakePod("b").GPUs(1)) }, []string{"2", "1"}},
		{"a second filter call (a retry): not again", func() { filter(extendertest.MakePod("a").GPUs(2)) }, []string{"2", "1"}},
		// A pod without cards reaches filter only to be placed by the policy
		// (the webhook's gpuplane.io/placement), and the simulator's learner
		// sees every pod it places; the informer alone does not show one.
		{"a pod without GPU, by the informer: nothing", func() { informer(extendertest.MakePod("c")) }, []string{"2", "1"}},
		{"a pod without GPU, by the filter: its host request", func() { filter(extendertest.MakePod("c")) }, []string{"2", "1", "0"}},
	}
	for _, st := range steps {
		st.do()
		if !slices.Equal(observed, st.want) {
			t.Fatalf("%s: observed %v, want %v", st.name, observed, st.want)
		}
	}
	if cache.NewSightings(nil, extendertest.Clock()) != nil {
		t.Error("sightings without a learner are not nil")
	}
}
