package app

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// demoMessage is kube-scheduler's FailedScheduling message for the demo's
// 8(V100) pod (docs/demo.md).
const demoMessage = "0/3 nodes are available: 1 gpu-v100: 4 free V100, pod needs 8, 2 node(s) didn't match Pod's node affinity/selector. " +
	"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."

func TestDiagnose(t *testing.T) {
	known := []string{"gpu-t4", "gpu-v100", "t4x4", "t4x8-vgpu", "v100x8"}
	for _, tc := range []struct {
		name    string
		message string
		want    Diagnosis
	}{
		{
			name:    "the demo's eight V100",
			message: demoMessage,
			want: Diagnosis{Nodes: 3, Groups: []ReasonGroup{
				{Reason: "node(s) didn't match Pod's node affinity/selector", NodeCount: 2, Nodes: []string{}},
				{Reason: "4 free V100, pod needs 8", NodeCount: 1, Nodes: []string{"gpu-v100"}},
			}, Preemption: "0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."},
		},
		{
			name: "nodes short of the same thing grouped, a reason with commas kept whole",
			message: "0/4 nodes are available: 1 t4x4: 0 free T4, pod needs 8, 1 v100x8: does not serve vGPU, " +
				"1 t4x8-vgpu: does not hand out whole cards, 1 gpu-t4: does not hand out whole cards.",
			want: Diagnosis{Nodes: 4, Groups: []ReasonGroup{
				{Reason: "does not hand out whole cards", NodeCount: 2, Nodes: []string{"gpu-t4", "t4x8-vgpu"}},
				{Reason: "0 free T4, pod needs 8", NodeCount: 1, Nodes: []string{"t4x4"}},
				{Reason: "does not serve vGPU", NodeCount: 1, Nodes: []string{"v100x8"}},
			}},
		},
		{
			name:    "a name that is no node's stays in the reason",
			message: "0/2 nodes are available: 2 Insufficient nvidia.com/gpu, 1 gone-node: 1 free T4, pod needs 2.",
			want: Diagnosis{Nodes: 2, Groups: []ReasonGroup{
				{Reason: "Insufficient nvidia.com/gpu", NodeCount: 2, Nodes: []string{}},
				{Reason: "gone-node: 1 free T4, pod needs 2", NodeCount: 1, Nodes: []string{}},
			}},
		},
		{
			name:    "another shape is one reason",
			message: "pod has unbound immediate PersistentVolumeClaims",
			want:    Diagnosis{Nodes: -1, Groups: []ReasonGroup{{Reason: "pod has unbound immediate PersistentVolumeClaims", Nodes: []string{}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Message = tc.message
			if got := Diagnose(tc.message, known); !reflect.DeepEqual(tc.want, got) {
				t.Errorf("Diagnose:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzDiagnose(f *testing.F) {
	f.Add(demoMessage)
	f.Add("0/1 nodes are available: 1 gpu-t4: 0 free T4, pod needs 1.")
	f.Add("0/x nodes are available: , , 3")
	f.Fuzz(func(t *testing.T, msg string) {
		d := Diagnose(msg, []string{"gpu-t4", "gpu-v100"})
		if d.Message != msg || len(d.Groups) == 0 && !strings.Contains(msg, available) {
			t.Fatalf("Diagnose(%q) = %+v", msg, d)
		}
		var b bytes.Buffer
		if err := WriteWhy(&b, outTable, WhyView{Pending: &d}); err != nil {
			t.Fatal(err)
		}
	})
}

func event(reason, message string, at time.Time, count int32) corev1.Event {
	return corev1.Event{Reason: reason, Message: message, Count: count, LastTimestamp: metav1.NewTime(at)}
}

func TestWhy(t *testing.T) {
	v := vocabulary(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pending := wholePod("demo", "eight-v100", "", 8, "8(V100)")
	pending.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
	events := []corev1.Event{
		event("FailedScheduling", demoMessage, t0.Add(time.Minute), 3),
		event("FailedScheduling", "0/3 nodes are available: 3 older.", t0, 1),
	}
	got := Why(&pending, events, []string{"gpu-t4", "gpu-v100", "gpu-vgpu"}, v)
	if got.Pending == nil || got.Pending.Message != demoMessage || got.Pending.Count != 3 || got.Node != "" {
		t.Fatalf("pending pod: %+v (pending %+v), want the newest FailedScheduling, reported 3 times", got, got.Pending)
	}
	var b bytes.Buffer
	if err := WriteWhy(&b, outTable, got); err != nil {
		t.Fatal(err)
	}
	want := `Pod demo/eight-v100, request "8(V100)", is Pending (Unschedulable): no node of 3 fits it (FailedScheduling, reported 3 times).
  NODES     REASON
  2         node(s) didn't match Pod's node affinity/selector
  gpu-v100  4 free V100, pod needs 8
Preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.
`
	if b.String() != want {
		t.Errorf("why, pending:\n%s\nwant:\n%s", b.String(), want)
	}

	bound := sharePod("demo", "half", "gpu-vgpu", 50, 30, 1)
	got = Why(&bound, []corev1.Event{
		event("Scheduled", "Successfully assigned demo/half to gpu-vgpu", t0, 1),
		event("FailedScheduling", demoMessage, t0.Add(-time.Minute), 1),
	}, nil, v)
	b.Reset()
	if err := WriteWhy(&b, outTable, got); err != nil {
		t.Fatal(err)
	}
	want = `Pod demo/half, request "0.5", is Running on node gpu-vgpu.
Cards: 1:50%/7.5Gi
  container main: card 1, 50% of its cores, 7.5Gi
Scheduled: Successfully assigned demo/half to gpu-vgpu
`
	if b.String() != want {
		t.Errorf("why, bound:\n%s\nwant:\n%s", b.String(), want)
	}
	if got.Pending != nil {
		t.Errorf("a bound pod has no pending diagnosis, got %+v", got.Pending)
	}
}
