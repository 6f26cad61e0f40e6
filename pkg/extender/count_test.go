package extender

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Filter-best prepares auto from the free cards filter counted while it
// checked the candidates; the scores must be exactly those of preparing it
// from the fitting nodes themselves, as prioritize does.
func TestFilterBestCountedFreeScoresAlike(t *testing.T) {
	// Two extenders over the same cluster, so that neither's scores lean
	// on the pressure the other kept (auto keeps its last scales while
	// new ones stay within 10% of them).
	ext, names := benchExtender(t, 600, 8, placement.PolicyAuto)
	other, _ := benchExtender(t, 600, 8, placement.PolicyAuto)
	ctx := context.Background()
	for name, pod := range map[string]*corev1.Pod{
		"share":     extendertest.MakePod("p").VGPU(0, 50, 32).Types("T4").Obj(),
		"whole":     extendertest.MakePod("p").GPUs(2).Types("V100").Obj(),
		"anycard":   extendertest.MakePod("p").GPUs(1).Obj(),
		"any-share": extendertest.MakePod("p").VGPU(0, 30, 16).Obj(),
		"two-types": extendertest.MakePod("p").GPUs(1).Types("V100", "T4").Obj(),
	} {
		t.Run(name, func(t *testing.T) {
			args := &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}
			o := ext.filterCounting(ctx, args, nil, countFree)
			if o.fitting < 2 {
				t.Fatalf("%d nodes fit: the test needs a choice", o.fitting)
			}
			if o.free == nil {
				t.Fatal("filter-best counted no free cards under auto")
			}
			counted := ext.scoreFitting(&o.req, fittingOf(o), o.free, nil)
			p := other.filterCounting(ctx, args, nil, skipFree)
			walked := other.scoreFitting(&p.req, fittingOf(p), nil, nil)
			if !slices.Equal(counted, walked) {
				t.Errorf("scores prepared from counted free cards differ from those prepared from the nodes")
			}
			if plain := ext.filter(ctx, args); plain.free != nil {
				t.Error("plain filter counted free cards it has no use for")
			}
		})
	}
}

// fittingOf is the snapshots of the candidates o found fitting.
func fittingOf(o *filterOutcome) []*cache.NodeSnapshot {
	var fitting []*cache.NodeSnapshot
	for i, ok := range o.fit {
		if ok {
			fitting = append(fitting, o.snaps[i])
		}
	}
	return fitting
}
