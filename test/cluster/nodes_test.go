package cluster

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestNodeSpecNode(t *testing.T) {
	tests := []struct {
		name       string
		spec       NodeSpec
		wantErr    error
		wantLabels map[string]string
		wantCap    map[corev1.ResourceName]string
	}{
		{
			name: "gpus added to the defaults",
			spec: NodeSpec{
				Name:     "n1",
				Labels:   map[string]string{"gpu": "true"},
				Capacity: map[string]string{"nvidia.com/gpu": "8"},
			},
			wantLabels: map[string]string{"gpu": "true", "kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux"},
			wantCap: map[corev1.ResourceName]string{
				"nvidia.com/gpu": "8", "cpu": "64", "memory": "512Gi", "pods": "110", "ephemeral-storage": "1Ti",
			},
		},
		{
			name: "given values win over defaults",
			spec: NodeSpec{
				Name:     "n2",
				Labels:   map[string]string{"kubernetes.io/hostname": "other"},
				Capacity: map[string]string{"cpu": "8", "pods": "10"},
			},
			wantLabels: map[string]string{"kubernetes.io/hostname": "other", "kubernetes.io/os": "linux"},
			wantCap: map[corev1.ResourceName]string{
				"cpu": "8", "memory": "512Gi", "pods": "10", "ephemeral-storage": "1Ti",
			},
		},
		{name: "no name", spec: NodeSpec{}, wantErr: ErrNodeSpec},
		{name: "bad quantity", spec: NodeSpec{Name: "n", Capacity: map[string]string{"nvidia.com/gpu": "eight"}}, wantErr: ErrNodeSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, err := tt.spec.node()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if len(node.Labels) != len(tt.wantLabels) {
				t.Errorf("labels = %v, want %v", node.Labels, tt.wantLabels)
			}
			for k, v := range tt.wantLabels {
				if node.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, node.Labels[k], v)
				}
			}
			if len(node.Status.Capacity) != len(tt.wantCap) {
				t.Errorf("capacity = %v, want %v", node.Status.Capacity, tt.wantCap)
			}
			for name, v := range tt.wantCap {
				want := resource.MustParse(v)
				for what, list := range map[string]corev1.ResourceList{"capacity": node.Status.Capacity, "allocatable": node.Status.Allocatable} {
					got, ok := list[name]
					if !ok || got.Cmp(want) != 0 {
						t.Errorf("%s %s = %v, want %s", what, name, got.String(), v)
					}
				}
			}
			ready := false
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready = true
				}
			}
			if !ready {
				t.Errorf("conditions %v lack Ready=True", node.Status.Conditions)
			}
			if len(node.Spec.Taints) != 0 {
				t.Errorf("taints = %v, want none", node.Spec.Taints)
			}
		})
	}
}

func TestNodeSpecNodeDoesNotShareMaps(t *testing.T) {
	spec := NodeSpec{Name: "n", Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"b": "2"}}
	node, err := spec.node()
	if err != nil {
		t.Fatal(err)
	}
	node.Labels["a"] = "changed"
	node.Annotations["b"] = "changed"
	if spec.Labels["a"] != "1" || spec.Annotations["b"] != "2" {
		t.Errorf("changing the node changed the spec: %v %v", spec.Labels, spec.Annotations)
	}
}

func TestWithoutAddedNotReady(t *testing.T) {
	notReady := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	gpu := corev1.Taint{Key: "nvidia.com/gpu", Value: "present", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name   string
		stored []corev1.Taint
		asked  []corev1.Taint
		want   []corev1.Taint
	}{
		{name: "added by admission is lifted", stored: []corev1.Taint{notReady}, want: []corev1.Taint{}},
		{name: "asked taints stay", stored: []corev1.Taint{gpu, notReady}, asked: []corev1.Taint{gpu}, want: []corev1.Taint{gpu}},
		{name: "asked not-ready stays", stored: []corev1.Taint{notReady}, asked: []corev1.Taint{notReady}, want: []corev1.Taint{notReady}},
		{name: "nothing to lift", stored: nil, want: []corev1.Taint{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutAddedNotReady(tt.stored, tt.asked)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].MatchTaint(&tt.want[i]) {
					t.Errorf("taint %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
