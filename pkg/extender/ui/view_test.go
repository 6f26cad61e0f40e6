package ui

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/load"
)

var voc = request.VocabularyFrom(catalog.Default())

func ptr[T any](v T) *T { return &v }

// stateView is a /state view of two GPU nodes and one without: w with four
// V100, two held whole by one pod; v with two A100 through vGPU, card 1
// shared by two pods.
func stateView() cache.StateView {
	return cache.StateView{Nodes: []cache.NodeView{
		{Name: "cpu"},
		{Name: "v", VGPU: true, Cards: []cache.CardView{
			{Index: 0, UUID: "GPU-v-0", Type: "A100", MemoryMiB: 81920},
			{Index: 1, UUID: "GPU-v-1", Type: "A100", MemoryMiB: 81920, UsedMilli: 700, UsedMemoryMiB: 57344, Shares: []cache.ShareView{
				{Pod: "default/a", Milli: 500, MemoryMiB: 40960}, {Pod: "default/b", Milli: 200, MemoryMiB: 16384},
			}},
		}, Pods: []cache.PodView{{Pod: "default/a"}, {Pod: "default/b"}}},
		{Name: "w", WholeCards: true, Cards: []cache.CardView{
			{Index: 0, Type: "V100", MemoryMiB: 32768, UsedMilli: 1000, UsedMemoryMiB: 32768},
			{Index: 1, Type: "V100", MemoryMiB: 32768, UsedMilli: 1000, UsedMemoryMiB: 32768},
			{Index: 2, Type: "V100", MemoryMiB: 32768},
			{Index: 3, Type: "V100", MemoryMiB: 32768},
		}, Pods: []cache.PodView{{Pod: "default/two", WholeCards: 2}}},
		{Name: "broken", Error: "broken: annotation gpuplane.io/devices is unreadable"},
	}}
}

func wholeCard(i int, used int64) Card {
	c := Card{Index: i, Type: "V100", MemoryMiB: 32768, Shares: []Share{}}
	if used > 0 {
		c.UsedMilli, c.WholeMilli, c.UsedMemoryMiB = used, used, 32768
	}
	return c
}

func TestCompute(t *testing.T) {
	at := extendertest.Epoch
	vNode := Node{Name: "v", Mode: "vgpu", Pods: 2, Cards: []Card{
		{Index: 0, Type: "A100", MemoryMiB: 81920, Shares: []Share{}},
		{Index: 1, Type: "A100", MemoryMiB: 81920, UsedMilli: 700, SharedMilli: 700, UsedMemoryMiB: 57344, Shares: []Share{
			{Pod: "default/a", Milli: 500, MemoryMiB: 40960}, {Pod: "default/b", Milli: 200, MemoryMiB: 16384},
		}},
	}}
	wNode := Node{Name: "w", Mode: "whole", Pods: 1, Cards: []Card{wholeCard(0, 1000), wholeCard(1, 1000), wholeCard(2, 0), wholeCard(3, 0)}}
	broken := Node{Name: "broken", Mode: "whole", Cards: []Card{}, Error: "broken: annotation gpuplane.io/devices is unreadable"}
	snap := load.NewSnapshot(at,
		load.CardSample{Node: "v", UUID: "GPU-v-1", Index: 1, Load: load.CardLoad{Util: 85, HasUtil: true, MemoryUsedMiB: 30000, HasMemory: true}},
		load.CardSample{Node: "w", Index: 2, Load: load.CardLoad{Util: 10, HasUtil: true}},
	)
	withLoad := func(n Node, i int, l *CardLoad) Node {
		n.Cards = append([]Card(nil), n.Cards...)
		n.Cards[i].Load = l
		return n
	}
	waits := extendertest.MakePod("waits").GPUs(8).Types("V100").Annotate(api.AnnotationApplied, "8(V100)").Obj()
	waits.Spec.SchedulerName = "gpuplane-scheduler"
	share := extendertest.MakePod("share").VGPU(0, 30, 0).Obj()
	web := extendertest.MakePod("web").Obj()
	refused := refusals.Refusal{Pod: "default/waits", UID: waits.UID, At: at.Add(-time.Second), Candidates: 3,
		Groups: []refusals.Group{{Reason: "4 free V100, pod needs 8", Count: 1, Nodes: []string{"w"}}}}
	verdicts := func(p *corev1.Pod) (refusals.Refusal, bool) {
		if p.UID == waits.UID {
			return refused, true
		}
		return refusals.Refusal{}, false
	}
	for _, tc := range []struct {
		name string
		in   Inputs
		want View
	}{
		{
			name: "no Prometheus",
			in:   Inputs{At: at, Synced: true, State: stateView()},
			want: View{At: at, Synced: true, Nodes: []Node{vNode, wNode, broken}, OtherNodes: 1, Pending: []Pending{}},
		},
		{
			name: "fresh load outlines the cards it names, by UUID or index",
			in:   Inputs{At: at, Synced: true, State: stateView(), Load: snap, LoadFresh: true, LoadConfigured: true},
			want: View{At: at, Synced: true, Load: LoadStatus{Configured: true, Fresh: true, At: &at},
				Nodes: []Node{withLoad(vNode, 1, &CardLoad{UtilPercent: ptr(85.0), MemoryUsedMiB: ptr(30000.0)}),
					withLoad(wNode, 2, &CardLoad{UtilPercent: ptr(10.0)}), broken},
				OtherNodes: 1, Pending: []Pending{}},
		},
		{
			name: "stale load is not drawn",
			in:   Inputs{At: at, State: stateView(), Load: snap, LoadConfigured: true},
			want: View{At: at, Load: LoadStatus{Configured: true, At: &at}, Nodes: []Node{vNode, wNode, broken}, OtherNodes: 1, Pending: []Pending{}},
		},
		{
			name: "pending GPU pods, refused first, with the extender's verdict; no pod without GPUs",
			in: Inputs{At: at, State: cache.StateView{}, Pending: []*corev1.Pod{share, web, waits},
				Verdict: verdicts, Vocabulary: voc},
			want: View{At: at, Nodes: []Node{}, PendingTotal: 2, Pending: []Pending{
				{Pod: "default/waits", Request: "8(V100)", Scheduler: "gpuplane-scheduler", Verdict: &Verdict{
					At: at.Add(-time.Second), Candidates: 3, Groups: refused.Groups}},
				{Pod: "default/share", Request: "0.3"},
			}},
		},
		{
			name: "pending without a record of verdicts",
			in:   Inputs{At: at, Pending: []*corev1.Pod{waits}, Vocabulary: voc},
			want: View{At: at, Nodes: []Node{}, PendingTotal: 1, Pending: []Pending{
				{Pod: "default/waits", Request: "8(V100)", Scheduler: "gpuplane-scheduler"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Compute(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tc.want, "", " ")
				t.Errorf("Compute:\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestComputeBoundsPending(t *testing.T) {
	var pods []*corev1.Pod
	for i := range MaxPending + 5 {
		pods = append(pods, extendertest.MakePod("p"+string(rune('a'+i%26))+string(rune('a'+i/26))).GPUs(1).Obj())
	}
	v := Compute(Inputs{Pending: pods, Vocabulary: voc})
	if len(v.Pending) != MaxPending || v.PendingTotal != MaxPending+5 {
		t.Errorf("%d pending listed of %d, want %d of %d", len(v.Pending), v.PendingTotal, MaxPending, MaxPending+5)
	}
}
