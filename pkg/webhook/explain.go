package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// explainContainer names the one container of the pod Explain admits.
const explainContainer = "main"

// Explanation is what the webhook does with a request (SPEC §7, `webhook explain`).
// Its JSON is part of the contract: every field is always written, empty ones as []
// or {}.
type Explanation struct {
	Input        string              `json:"input"`
	Canonical    string              `json:"canonical"`
	Resources    map[string]string   `json:"resources"`
	NodeAffinity ExplainedAffinity   `json:"nodeAffinity"`
	Tolerations  []corev1.Toleration `json:"tolerations"`
	Env          map[string]string   `json:"env"`
	// Sharing says which pool and backend serve a share, virtual cards or
	// a MIG instance, and what that backend isolates; null for whole cards
	// and for "0".
	Sharing *ExplainedSharing `json:"sharing"`
	// ResourceClaimTemplate is written for the DRA form only (a request of a pool
	// that allocates by DRA, or explain --dra): the template the pod's claim is made
	// from, which the pod names in spec.resourceClaims and its label
	// gpuplane.io/claim-template. Resources then holds no card resource.
	ResourceClaimTemplate *resourcev1.ResourceClaimTemplate `json:"resourceClaimTemplate,omitempty"`
}

// ExplainedSharing is the backend that serves a request (docs/sharing.md).
type ExplainedSharing struct {
	// Pool is the catalog pool whose nodes the pod must land on.
	Pool string `json:"pool"`
	// Backend is the pool's sharing backend: gpu-manager, hami, mig or
	// timeslice.
	Backend string `json:"backend"`
	// MIGProfile is the MIG profile of the instance (mig only).
	MIGProfile string `json:"migProfile,omitempty"`
	// Isolation says what the backend enforces on the pod.
	Isolation ExplainedIsolation `json:"isolation"`
}

// ExplainedIsolation says whether a backend keeps a pod within the memory
// and the compute it asked for.
type ExplainedIsolation struct {
	Memory  bool `json:"memory"`
	Compute bool `json:"compute"`
}

// ExplainedAffinity is the node affinity a request adds: the requirements ANDed into
// every required term, and the preferred requirements with their weights.
type ExplainedAffinity struct {
	Required  []corev1.NodeSelectorRequirement `json:"required"`
	Preferred []WeightedRequirement            `json:"preferred"`
}

// WeightedRequirement is one preferred term of a single requirement.
type WeightedRequirement struct {
	Weight int32 `json:"weight"`
	corev1.NodeSelectorRequirement
}

// Refused is the explanation of a request the webhook refuses: its input and the
// message the webhook gives.
type Refused struct {
	Input string `json:"input"`
	Error string `json:"error"`
}

// Explain tells what the webhook does with the request input (and role, when not
// empty) on a pod of one container. It runs the pod through Mutate, the handler's own
// code, and reads the answer back from the admitted pod, so the two cannot disagree.
// A refusal is returned as an error with the handler's message.
func Explain(input, role string, cat *catalog.Catalog, opts Options) (Explanation, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{api.AnnotationGPU: input}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: explainContainer}}},
	}
	if role != "" {
		pod.Annotations[api.AnnotationRole] = role
	}
	out, err := Mutate(pod, cat, opts)
	if err != nil {
		return Explanation{}, err
	}
	e := explanationOf(input, out)
	// The canonical form resolves as the input did (Resolved.String).
	if res, err := cat.ParseResolve(e.Canonical); err == nil && res.Sharing != "" {
		iso := res.Sharing.Isolation()
		e.Sharing = &ExplainedSharing{Pool: res.Pool, Backend: string(res.Sharing), MIGProfile: res.MIGProfile,
			Isolation: ExplainedIsolation{Memory: iso.Memory, Compute: iso.Compute}}
	}
	if _, ok := out.Labels[api.LabelClaimTemplate]; ok {
		// The same plan Mutate followed; the pod holds only the template's name.
		p, err := planFor(pod.Annotations, &pod.Spec, cat, opts.ForceDRA)
		if err != nil {
			return Explanation{}, err
		}
		e.ResourceClaimTemplate = p.template
	}
	return e, nil
}

// explanationOf reads what Mutate wrote into a pod that had nothing of its own.
func explanationOf(input string, pod *corev1.Pod) Explanation {
	c := pod.Spec.Containers[0]
	e := Explanation{
		Input:     input,
		Canonical: pod.Annotations[api.AnnotationApplied],
		Resources: make(map[string]string, len(c.Resources.Limits)),
		NodeAffinity: ExplainedAffinity{
			Required:  []corev1.NodeSelectorRequirement{},
			Preferred: []WeightedRequirement{},
		},
		Tolerations: append([]corev1.Toleration{}, pod.Spec.Tolerations...),
		Env:         make(map[string]string, len(c.Env)),
	}
	for name, q := range c.Resources.Limits {
		e.Resources[string(name)] = q.String()
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		if sel := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; sel != nil && len(sel.NodeSelectorTerms) > 0 {
			e.NodeAffinity.Required = append(e.NodeAffinity.Required, sel.NodeSelectorTerms[0].MatchExpressions...)
		}
		for _, p := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			for _, r := range p.Preference.MatchExpressions {
				e.NodeAffinity.Preferred = append(e.NodeAffinity.Preferred, WeightedRequirement{Weight: p.Weight, NodeSelectorRequirement: r})
			}
		}
	}
	for _, v := range c.Env {
		e.Env[v.Name] = v.Value
	}
	return e
}

// ExplainPod returns the pod podJSON (a Pod as JSON) as the webhook admits it: the
// request goes through the pod webhook's handler, and its patch is applied to the
// JSON as the API server would, so every field written keeps its spelling. A refused
// pod is an error whose message is the handler's, and errors.Is(err, ErrDenied) tells it
// from a pod that cannot be read.
func ExplainPod(ctx context.Context, podJSON []byte, cat *catalog.Catalog, opts Options) ([]byte, error) {
	m := &PodMutator{Catalog: cat, Options: opts}
	resp := m.Handle(ctx, admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "explain",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: podJSON},
	}})
	if !resp.Allowed {
		msg := "refused"
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		if resp.Result != nil && resp.Result.Code == http.StatusForbidden {
			return nil, &refusal{class: ErrDenied, msg: msg}
		}
		return nil, errors.New(msg)
	}
	if len(resp.Patch) == 0 {
		return podJSON, nil
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		return nil, fmt.Errorf("decoding the patch: %w", err)
	}
	out, err := patch.Apply(podJSON)
	if err != nil {
		return nil, fmt.Errorf("applying the patch: %w", err)
	}
	return out, nil
}
