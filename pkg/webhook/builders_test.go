package webhook

import (
	"context"
	"encoding/json"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// podBuilder makes test pods: makePod().withGPU("1(T4)").obj().
type podBuilder struct{ pod *corev1.Pod }

// makePod returns a pod with one container per name, "main" when none is given.
func makePod(containers ...string) *podBuilder {
	if len(containers) == 0 {
		containers = []string{"main"}
	}
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ml"},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "trainer:1"})
	}
	return &podBuilder{pod: p}
}

func (b *podBuilder) withAnnotation(key, value string) *podBuilder {
	if b.pod.Annotations == nil {
		b.pod.Annotations = map[string]string{}
	}
	b.pod.Annotations[key] = value
	return b
}

func (b *podBuilder) withGPU(request string) *podBuilder {
	return b.withAnnotation(api.AnnotationGPU, request)
}

func (b *podBuilder) withLimit(container int, name, value string) *podBuilder {
	r := &b.pod.Spec.Containers[container].Resources
	if r.Limits == nil {
		r.Limits = corev1.ResourceList{}
	}
	r.Limits[corev1.ResourceName(name)] = resource.MustParse(value)
	return b
}

func (b *podBuilder) withRequest(container int, name, value string) *podBuilder {
	r := &b.pod.Spec.Containers[container].Resources
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	r.Requests[corev1.ResourceName(name)] = resource.MustParse(value)
	return b
}

func (b *podBuilder) withEnv(container int, name, value string) *podBuilder {
	c := &b.pod.Spec.Containers[container]
	c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
	return b
}

func (b *podBuilder) withRequiredTerms(terms ...corev1.NodeSelectorTerm) *podBuilder {
	b.pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
	}}
	return b
}

func (b *podBuilder) withToleration(t corev1.Toleration) *podBuilder {
	b.pod.Spec.Tolerations = append(b.pod.Spec.Tolerations, t)
	return b
}

func (b *podBuilder) withSchedulerName(name string) *podBuilder {
	b.pod.Spec.SchedulerName = name
	return b
}

func (b *podBuilder) obj() *corev1.Pod { return b.pod }

// term is a node selector term of requirements "key=value" each (operator In).
func term(pairs ...string) corev1.NodeSelectorTerm {
	var t corev1.NodeSelectorTerm
	for i := 0; i+1 < len(pairs); i += 2 {
		t.MatchExpressions = append(t.MatchExpressions, corev1.NodeSelectorRequirement{
			Key: pairs[i], Operator: corev1.NodeSelectorOpIn, Values: []string{pairs[i+1]},
		})
	}
	return t
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %T: %v", v, err)
	}
	return data
}

// applyOps applies a patch to doc as the API server would.
func applyOps(t testing.TB, doc []byte, ops []patchOperation) []byte {
	t.Helper()
	return applyPatch(t, doc, mustJSON(t, ops))
}

// applyPatch applies an encoded JSON patch to doc.
func applyPatch(t testing.TB, doc, ops []byte) []byte {
	t.Helper()
	patch, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatalf("decoding the patch: %v", err)
	}
	out, err := patch.Apply(doc)
	if err != nil {
		t.Fatalf("applying the patch %s to %s: %v", ops, doc, err)
	}
	return out
}

// podRequest wraps pod into an admission request for its creation.
func podRequest(t testing.TB, pod *corev1.Pod) admission.Request {
	t.Helper()
	return rawPodRequest(mustJSON(t, pod))
}

func rawPodRequest(raw []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       types.UID("uid-1"),
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: "ml",
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}}
}

func newTestMutator(t testing.TB, opts Options, metrics *Metrics) *PodMutator {
	t.Helper()
	return &PodMutator{Catalog: catalog.Default(), Options: opts, Metrics: metrics}
}

func handle(t testing.TB, h admission.Handler, req admission.Request) admission.Response {
	t.Helper()
	resp := h.Handle(context.Background(), req)
	if err := resp.Complete(req); err != nil {
		t.Fatalf("completing the response: %v", err)
	}
	return resp
}
