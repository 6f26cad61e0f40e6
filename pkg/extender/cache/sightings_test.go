package cache

import (
	"slices"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
	corev1 "k8s.io/api/core/v1"
)

// The pod informer shows the learner a pod once, not one a filter call
// showed first, and forgets a deleted pod: the same uid again is a new pod.
func TestSightingsInformer(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("w").Whole(4, "V100").Obj())
	var observed []string
	seen := NewSightings(func(r *placement.Request) { observed = append(observed, r.String()) })
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
		{"the same uid again", func() { h.OnAdd(extendertest.MakePod("a").GPUs(2).Obj(), false) }, []string{"2", "1", "2"}},
		{"the informer's pod without GPU: not counted", func() { h.OnAdd(cpuPod, false) }, []string{"2", "1", "2"}},
		{"a filter call about it", func() {
			req, err := request.Of(cpuPod, s.voc)
			if err != nil {
				t.Fatal(err)
			}
			seen.ObserveRequests(cpuPod.UID, &req)
		}, []string{"2", "1", "2", "0"}},
	}
	for _, st := range steps {
		st.do()
		if !slices.Equal(observed, st.want) {
			t.Fatalf("%s: observed %v, want %v", st.name, observed, st.want)
		}
	}
}
