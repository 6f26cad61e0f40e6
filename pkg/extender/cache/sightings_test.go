package cache

import (
	"slices"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// The pod informer shows the learner a pod once, not one a filter call
// showed first, and forgets a deleted pod: the same uid again is a new pod.
func TestSightingsInformer(t *testing.T) {
	s, _ := newTestState(t)
	s.SetNode(extendertest.MakeNode("w").Whole(4, "V100").Obj())
	var observed []string
	seen := NewSightings(func(r *placement.Request) { observed = append(observed, r.String()) })
	h := podHandlers(s, seen)
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
	}
	for _, st := range steps {
		st.do()
		if !slices.Equal(observed, st.want) {
			t.Fatalf("%s: observed %v, want %v", st.name, observed, st.want)
		}
	}
}
