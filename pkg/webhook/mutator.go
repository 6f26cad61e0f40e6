package webhook

import (
	"context"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// PodMutator is the mutating webhook served at PathMutatePod: it answers a pod's
// creation with the patch Mutate asks for, or refuses it with Mutate's message.
type PodMutator struct {
	// Catalog resolves requests. Required.
	Catalog *catalog.Catalog
	// Options say how pods are mutated.
	Options Options
	// Metrics records every request. Default: nil, nothing recorded.
	Metrics *Metrics
}

var _ admission.Handler = (*PodMutator)(nil)

// Handle answers one admission request.
func (m *PodMutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	return handled(ctx, PathMutatePod, m.Metrics, func() (admission.Response, string) {
		return m.handle(ctx, req)
	})
}

func (m *PodMutator) handle(ctx context.Context, req admission.Request) (admission.Response, string) {
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return admission.Allowed("gpuplane mutates pods only"), ""
	}
	if req.Operation != admissionv1.Create {
		// Resources and affinity of a pod are fixed once it exists.
		return admission.Allowed(""), ""
	}
	pod, err := decodePod(req.Object.Raw)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the pod: %w", err)), "decode"
	}
	out, err := Mutate(pod, m.Catalog, m.Options)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Refused a pod", "pod", podRef(req, pod), "reason", Reason(err), "message", err.Error())
		return admission.Denied(err.Error()), Reason(err)
	}
	ops := buildPatch(pod, out)
	if len(ops) == 0 {
		return admission.Allowed(""), ""
	}
	patch, err := encodePatch(ops)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err), "other"
	}
	if logger := klog.FromContext(ctx).V(4); logger.Enabled() {
		logger.Info("Mutated a pod", "pod", podRef(req, pod), "applied", out.Annotations[api.AnnotationApplied])
	}
	resp := admission.Allowed("")
	resp.Patch = patch
	pt := admissionv1.PatchTypeJSONPatch
	resp.PatchType = &pt
	return resp, ""
}

// podRef names the pod for logs; a pod being created may have only a generateName
// and no namespace of its own yet.
func podRef(req admission.Request, pod *corev1.Pod) klog.ObjectRef {
	name := req.Name
	switch {
	case name == "" && pod.Name != "":
		name = pod.Name
	case name == "" && pod.GenerateName != "":
		name = pod.GenerateName + "*"
	}
	return klog.ObjectRef{Namespace: req.Namespace, Name: name}
}
