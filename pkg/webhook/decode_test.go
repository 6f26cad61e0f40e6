package webhook

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	k8sjson "sigs.k8s.io/json"
)

// project keeps of a fully decoded pod what decodePod decodes.
func project(full *corev1.Pod) *corev1.Pod {
	p := &corev1.Pod{}
	p.Name, p.GenerateName, p.Namespace, p.Annotations = full.Name, full.GenerateName, full.Namespace, full.Annotations
	p.Labels, p.Spec.ResourceClaims = full.Labels, full.Spec.ResourceClaims
	p.Spec.Affinity, p.Spec.Tolerations, p.Spec.SchedulerName = full.Spec.Affinity, full.Spec.Tolerations, full.Spec.SchedulerName
	if full.Spec.Containers != nil {
		p.Spec.Containers = make([]corev1.Container, len(full.Spec.Containers))
		for i, c := range full.Spec.Containers {
			p.Spec.Containers[i] = corev1.Container{Name: c.Name, Resources: c.Resources, Env: c.Env}
		}
	}
	return p
}

// FuzzDecodePod checks decodePod against a full decode: where both succeed they agree
// on every field decodePod keeps, and decodePod fails only where the full decode does.
func FuzzDecodePod(f *testing.F) {
	for _, s := range []string{
		benchPod, `{}`, `null`, `{"metadata":null,"spec":null}`,
		`{"metadata":{"annotations":{"a":"b"}},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"2"}}}]}}`,
		`{"spec":{"containers":[]}}`, `{"spec":{"containers":[null]}}`, `{"spec":{"Containers":[{"name":"x"}]}}`,
		`{"spec":{"containers":[{"name":"c","env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"x"}}}]}]}}`,
		`{"spec":{"affinity":{"nodeAffinity":{}},"tolerations":[{"key":"k","tolerationSeconds":5}]}}`,
		`{"metadata":{"annotations":{"a":"1"}},"metadata":{"name":"twice"}}`,
		`{"metadata":{"labels":{"app":"x"}},"spec":{"resourceClaims":[{"name":"gpuplane-gpu","resourceClaimTemplateName":"t"}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodePod(raw)
		var full corev1.Pod
		fullErr := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &full)
		if err != nil {
			if fullErr == nil && len(raw) > 0 {
				t.Fatalf("decodePod failed (%v) where a full decode succeeds", err)
			}
			return
		}
		if fullErr != nil {
			return // a field decodePod skips does not decode
		}
		if want := project(&full); !equality.Semantic.DeepEqual(got, want) {
			t.Fatalf("decodePod differs from a full decode\n got: %s\nwant: %s", mustJSON(t, got), mustJSON(t, want))
		}
	})
}
