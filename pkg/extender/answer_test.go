package extender

import (
	"context"
	"slices"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/wire"
	corev1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// TestOutcomeAnswer: filter's answer written from its outcome decodes to
// what encoding/json writes for Filter's result, for every kind of pod and
// candidate (fitting, short, wrong type, corrupt, unknown, named twice).
func TestOutcomeAnswer(t *testing.T) {
	h := newHarness(t, harnessOptions{}, wireObjects()...)
	ctx := context.Background()
	nodes := &corev1.NodeList{}
	for _, o := range wireObjects() {
		if n, ok := o.(*corev1.Node); ok {
			nodes.Items = append(nodes.Items, *n)
		}
	}
	names := append(slices.Clone(wireNames), "v", "ghost", "\xc3", "")
	pods := map[string]*corev1.Pod{
		"share":    extendertest.MakePod("share").VGPU(0, 50, 32).Obj(),
		"big":      extendertest.MakePod("big").VGPU(0, 100, 0).Obj(),
		"whole":    extendertest.MakePod("whole").GPUs(2).Types("V100").Obj(),
		"multi":    extendertest.MakePod("multi").VGPU(0, 30, 0).VGPU(1, 100, 0).Obj(),
		"plain":    extendertest.MakePod("plain").Obj(),
		"unusable": extendertest.MakePod("unusable").GPUs(65).Obj(),
		"none":     nil,
	}
	for name, pod := range pods {
		for _, args := range []extenderv1.ExtenderArgs{
			{Pod: pod, NodeNames: &names},
			{Pod: pod, NodeNames: &[]string{}},
			{Pod: pod, Nodes: nodes},
			{Pod: pod},
		} {
			t.Run(name, func(t *testing.T) {
				o := h.ext.filter(ctx, &args)
				got, err := wire.OutcomeAnswer{Outcome: o}.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				extendertest.SameFilterResult(t, got, o.Result())
			})
		}
	}
}
