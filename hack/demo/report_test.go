package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func podWith(limits map[string]string, annotations map[string]string) *corev1.Pod {
	rl := corev1.ResourceList{}
	for k, v := range limits {
		rl[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{Limits: rl}}}},
	}
}

func nodeWith(labels map[string]string, devices api.Devices) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: labels, Annotations: map[string]string{}}}
	if devices != nil {
		s, err := api.EncodeDevices(devices)
		if err != nil {
			panic(err)
		}
		n.Annotations[api.AnnotationDevices] = s
	}
	return n
}

func assignment(t *testing.T, cards ...api.CardShare) string {
	t.Helper()
	s, err := api.EncodeAssignment(api.Assignment{Node: "n", Containers: []api.ContainerAssignment{{Index: 0, Name: "main", Cards: cards}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hamiNode is an L4 node whose two cards HAMi registered.
func hamiNode(t *testing.T) *corev1.Node {
	t.Helper()
	n := nodeWith(map[string]string{"gpu-type": "L4"}, nil)
	reg, err := hami.EncodeRegistration([]hami.Device{
		{UUID: "GPU-l4-0", Index: 0, Split: 4, MemoryMiB: 24576, Cores: 100, Type: "NVIDIA L4", Health: true, Mode: hami.ModeHAMiCore},
		{UUID: "GPU-l4-1", Index: 1, Split: 4, MemoryMiB: 24576, Cores: 100, Type: "NVIDIA L4", Health: true, Mode: hami.ModeHAMiCore},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Annotations[hami.AnnotationRegister] = reg
	return n
}

func TestCardsOf(t *testing.T) {
	a100s := api.Devices{
		{Index: 0, UUID: "GPU-0", Type: "A100", Product: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920},
		{Index: 1, UUID: "GPU-1", Type: "A100", Product: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920},
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		node      *corev1.Node
		want      string
		wantCards int
		wantErr   bool
	}{
		{
			name: "whole cards of the node's type",
			pod:  podWith(map[string]string{"nvidia.com/gpu": "2", "cpu": "1"}, nil),
			node: nodeWith(map[string]string{"gpu-type": "V100"}, nil),
			want: "2 x V100",
		},
		{
			name: "whole cards without a type label",
			pod:  podWith(map[string]string{"nvidia.com/gpu": "1"}, nil),
			node: nodeWith(nil, nil),
			want: "1 x card",
		},
		{
			name: "another vendor's cards",
			pod:  podWith(map[string]string{"amd.com/gpu": "1"}, nil),
			node: nodeWith(map[string]string{"gpu-type": "MI250"}, nil),
			want: "1 x MI250",
		},
		{
			name: "no GPU",
			pod:  podWith(map[string]string{"cpu": "1"}, nil),
			node: nodeWith(nil, nil),
			want: "",
		},
		{
			name: "half a vGPU card",
			pod: podWith(map[string]string{"tencent.com/vcuda-core": "50"}, map[string]string{
				api.AnnotationAssigned: assignment(t, api.CardShare{Index: 1, Cores: 50, MemoryMiB: 40960}),
			}),
			node:      nodeWith(nil, a100s),
			want:      "A100 #1: 50% compute, 40Gi",
			wantCards: 1,
		},
		{
			name: "two vGPU cards, memory not in GiB, no devices annotation",
			pod: podWith(nil, map[string]string{
				api.AnnotationAssigned: assignment(t, api.CardShare{Index: 0, Cores: 100, MemoryMiB: 16384}, api.CardShare{Index: 1, Cores: 100, MemoryMiB: 1280}),
			}),
			node:      nodeWith(nil, nil),
			want:      "#0: 100% compute, 16Gi; #1: 100% compute, 1280Mi",
			wantCards: 2,
		},
		{
			name: "a HAMi share: the card by its index in HAMi's registration",
			pod: podWith(map[string]string{"nvidia.com/gpu": "1", "nvidia.com/gpumem": "12288", "nvidia.com/gpucores": "50"}, map[string]string{
				hami.AnnotationAllocated: "GPU-l4-1,NVIDIA,12288,50:;",
			}),
			node: hamiNode(t),
			want: "L4 #1: 50% compute, 12Gi (HAMi)",
		},
		{
			name:    "a corrupt HAMi annotation",
			pod:     podWith(map[string]string{"nvidia.com/gpu": "1"}, map[string]string{hami.AnnotationAllocated: "GPU-l4-1,NVIDIA"}),
			node:    hamiNode(t),
			wantErr: true,
		},
		{
			name: "a MIG instance",
			pod:  podWith(map[string]string{"nvidia.com/mig-1g.10gb": "1"}, nil),
			node: nodeWith(map[string]string{"gpu-type": "H100"}, nil),
			want: "1 x H100 MIG 1g.10gb",
		},
		{
			name:    "corrupt assignment",
			pod:     podWith(nil, map[string]string{api.AnnotationAssigned: "{"}),
			node:    nodeWith(nil, a100s),
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, a, err := cardsOf(tt.pod, tt.node, catalog.Default())
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("cards %q, want %q", got, tt.want)
			}
			cards := 0
			if a != nil {
				for _, c := range a.Containers {
					cards += len(c.Cards)
				}
			}
			if cards != tt.wantCards {
				t.Errorf("assignment with %d cards, want %d", cards, tt.wantCards)
			}
		})
	}
}

func TestRequiredAffinity(t *testing.T) {
	expr := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	withTerms := func(terms ...[]corev1.NodeSelectorRequirement) *corev1.Pod {
		p := podWith(nil, nil)
		sel := &corev1.NodeSelector{}
		for _, t := range terms {
			sel.NodeSelectorTerms = append(sel.NodeSelectorTerms, corev1.NodeSelectorTerm{MatchExpressions: t})
		}
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: sel}}
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{name: "none", pod: podWith(nil, nil), want: "any labels"},
		{name: "one value reads as a label", pod: withTerms([]corev1.NodeSelectorRequirement{
			expr("gpu", corev1.NodeSelectorOpIn, "true"), expr("gpu-type", corev1.NodeSelectorOpIn, "V100", "A100"),
		}), want: "gpu=true, gpu-type in (V100, A100)"},
		{name: "terms are alternatives", pod: withTerms(
			[]corev1.NodeSelectorRequirement{expr("zone", corev1.NodeSelectorOpIn, "a"), expr("gpu", corev1.NodeSelectorOpIn, "true")},
			[]corev1.NodeSelectorRequirement{expr("zone", corev1.NodeSelectorOpNotIn, "b")},
		), want: "zone=a, gpu=true or zone NotIn (b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requiredAffinity(tt.pod); got != tt.want {
				t.Errorf("requiredAffinity = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrintTable(t *testing.T) {
	results := []result{
		{Request: "2(V100)", Kind: "Pod", Name: "two-v100", Outcome: outcomeBound, Node: "gpu-v100", Cards: "2 x V100", Affinity: "gpu=true, gpu-type=V100"},
		{Request: "1", Role: "notebook", Kind: "Pod", Name: "nb", Outcome: outcomeBound, Node: "gpu-t4", Cards: "1 x T4", Affinity: "gpu=true, notebook=true"},
		{Request: "8(V100)", Kind: "Pod", Name: "eight", Outcome: outcomePending, Message: "0/3 nodes are available:\n gpu-v100: 4 free V100"},
		{Request: "2(V100", Kind: "Pod", Name: "bad", Outcome: outcomeRefused, Message: `denied: "2(V100": missing ")"`},
		{Request: "1.5", Kind: "Deployment", Name: "frac", Outcome: outcomeRefused, Message: "denied: 1.5"},
	}
	var b strings.Builder
	if err := printTable(&b, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := [][]string{
		{"REQUEST", "POD", "NODE", "CARDS", "WHY"},
		{"2(V100)", "two-v100", "gpu-v100", "2 x V100", "nodes with gpu=true, gpu-type=V100"},
		{"1 role=notebook", "nb", "gpu-t4", "1 x T4", "nodes with gpu=true, notebook=true"},
		{"8(V100)", "eight", "(pending)", "-", "0/3 nodes are available: gpu-v100: 4 free V100"},
		{"2(V100", "bad", "(refused)", "-", `denied: "2(V100": missing ")"`},
		{"1.5", "deployment/frac", "(refused)", "-", "denied: 1.5"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	// Columns start where the header's do.
	header := lines[0]
	for i, cells := range want {
		for j, cell := range cells {
			at := strings.Index(header, want[0][j])
			if !strings.HasPrefix(lines[i][at:], cell) {
				t.Errorf("line %d column %s = %q, want %q\n%s", i, want[0][j], lines[i][at:], cell, b.String())
			}
		}
	}
}

func TestFormatResources(t *testing.T) {
	got := formatResources(map[string]string{"tencent.com/vcuda-memory": "1280", "tencent.com/vcuda-core": "400"})
	if want := "tencent.com/vcuda-core=400 tencent.com/vcuda-memory=1280"; got != want {
		t.Errorf("formatResources = %q, want %q", got, want)
	}
}
