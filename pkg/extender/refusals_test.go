package extender

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
)

// TestFilterRecordsRefusals checks what filter keeps for the web page: the
// counts of every GPU pod's call, and when no node fits the reasons the
// answer gave, grouped by what follows the node's name; nothing for a pod
// without GPUs; and a bind forgets the pod.
func TestFilterRecordsRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		recorded bool
		fitting  int
		groups   int
	}{
		{name: "fits one node: counts only", pod: extendertest.MakePod("fits").GPUs(2).Types("V100").Obj(), recorded: true, fitting: 1},
		{name: "fits none: the reasons grouped", pod: extendertest.MakePod("waits").VGPU(0, 50, 0).Types("A100").Obj(), recorded: true, groups: 4},
		{name: "unusable request", pod: extendertest.MakePod("bad").VGPU(0, 150, 0).Obj(), recorded: true, groups: 1},
		{name: "no GPU: nothing", pod: extendertest.MakePod("web").Obj()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := refusals.New(extendertest.Clock(), 4)
			h := newHarness(t, harnessOptions{refusals: rec}, filterCluster()...)
			tc.pod.UID = types.UID("uid-" + tc.pod.Name)
			names := slices.Clone(allFilterNodes)
			res := h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: tc.pod, NodeNames: &names})
			got, ok := rec.Get(tc.pod.UID)
			if ok != tc.recorded {
				t.Fatalf("recorded %v, want %v", ok, tc.recorded)
			}
			if !ok {
				return
			}
			if got.Pod != "default/"+tc.pod.Name || got.Candidates != len(allFilterNodes) || got.Fitting != tc.fitting ||
				!got.At.Equal(extendertest.Epoch) {
				t.Errorf("recorded %+v, want pod default/%s, %d candidates, %d fitting, at %v", got, tc.pod.Name, len(allFilterNodes), tc.fitting, extendertest.Epoch)
			}
			if tc.fitting > 0 {
				if len(got.Groups) != 0 {
					t.Errorf("groups %+v recorded for a pod that fits", got.Groups)
				}
				return
			}
			// Every refused node is in the group of the reason the answer
			// gave it, and the counts add up.
			wire := map[string]string{}
			for n, r := range res.FailedNodes {
				wire[n] = r
			}
			for n, r := range res.FailedAndUnresolvableNodes {
				wire[n] = r
			}
			total := 0
			for _, g := range got.Groups {
				total += g.Count
				for _, n := range g.Nodes {
					if want := n + ": " + g.Reason; wire[n] != want {
						t.Errorf("group says %q, the answer %q", want, wire[n])
					}
				}
				if len(g.Nodes) != g.Count {
					t.Errorf("group %+v: %d nodes named of %d", g, len(g.Nodes), g.Count)
				}
			}
			if total != len(wire) || total != len(allFilterNodes) {
				t.Errorf("groups count %d nodes, the answer refused %d of %d", total, len(wire), len(allFilterNodes))
			}
			if len(got.Groups) != tc.groups || got.Groups[0].Count < got.Groups[len(got.Groups)-1].Count {
				t.Errorf("groups %+v, want %d, most nodes first", got.Groups, tc.groups)
			}
			if strings.HasPrefix(got.Groups[0].Reason, got.Groups[0].Nodes[0]) {
				t.Errorf("group reason %q still starts with the node's name", got.Groups[0].Reason)
			}
		})
	}
	t.Run("a bind forgets the pod", func(t *testing.T) {
		rec := refusals.New(extendertest.Clock(), 4)
		pod := extendertest.MakePod("p").GPUs(1).Types("V100").Obj()
		h := newHarness(t, harnessOptions{refusals: rec}, filterCluster()...)
		h.create(pod)
		pod = h.pod("p")
		names := slices.Clone(allFilterNodes)
		h.ext.Filter(h.ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		if _, ok := rec.Get(pod.UID); !ok {
			t.Fatal("filter recorded nothing")
		}
		if err := h.bind("p", "v100-free"); err != nil {
			t.Fatal(err)
		}
		if _, ok := rec.Get(pod.UID); ok {
			t.Error("the bound pod is still recorded")
		}
	})
}
