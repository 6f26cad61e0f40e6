package webhook

import (
	"context"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// WorkloadValidator is the validating webhook served at PathValidateWorkloads: it
// checks the GPU request in the pod template of a workload (Deployment, StatefulSet,
// DaemonSet, ReplicaSet, Job, CronJob; also ReplicationController, PodTemplate and a
// bare Pod) exactly as the pod webhook will check each pod, so a bad request is refused
// when the workload is submitted rather than when its controller creates pods.
// Nothing is changed.
type WorkloadValidator struct {
	// Catalog resolves requests. Required.
	Catalog *catalog.Catalog
	// Options are those of the pod webhook, so that the verdicts agree.
	Options Options
	// Decoder reads the workload out of the request. Required; NewDecoder makes one.
	Decoder admission.Decoder
	// Metrics records every request. Default: nil, nothing recorded.
	Metrics *Metrics
}

var _ admission.Handler = (*WorkloadValidator)(nil)

// Handle answers one admission request.
func (v *WorkloadValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	return handled(ctx, PathValidateWorkloads, v.Metrics, func() (admission.Response, string) {
		return v.handle(ctx, req)
	})
}

func (v *WorkloadValidator) handle(ctx context.Context, req admission.Request) (admission.Response, string) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed(""), ""
	}
	tmpl, err := podTemplateOf(v.Decoder, req.Kind, req.Object)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err), "decode"
	}
	if tmpl == nil {
		return admission.Allowed(fmt.Sprintf("gpuplane does not check %s objects", req.Kind.Kind)), ""
	}
	verdict := v.check(tmpl)
	if verdict == nil {
		return admission.Allowed(""), ""
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		// An update that leaves an old problem as it was is let through with a warning:
		// refusing it would also block unrelated changes, such as removing a finalizer
		// from a workload created before the webhook was installed.
		if old, err := podTemplateOf(v.Decoder, req.Kind, req.OldObject); err == nil && old != nil {
			if was := v.check(old); was != nil && was.Error() == verdict.Error() {
				return admission.Allowed("").WithWarnings(verdict.Error()), ""
			}
		}
	}
	klog.FromContext(ctx).V(2).Info("Refused a workload", "kind", req.Kind.Kind,
		"object", klog.KRef(req.Namespace, req.Name), "reason", Reason(verdict), "message", verdict.Error())
	return admission.Denied(verdict.Error()), Reason(verdict)
}

// check runs the pod webhook's decision on the template and keeps only the verdict.
func (v *WorkloadValidator) check(tmpl *corev1.PodTemplateSpec) error {
	_, err := Mutate(&corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}, v.Catalog, v.Options)
	return err
}

// podTemplateOf decodes raw as kind and returns its pod template, or nil for a kind
// that has none.
func podTemplateOf(dec admission.Decoder, kind metav1.GroupVersionKind, raw runtime.RawExtension) (*corev1.PodTemplateSpec, error) {
	decode := func(into runtime.Object) error {
		if err := dec.DecodeRaw(raw, into); err != nil {
			return fmt.Errorf("decoding the %s: %w", kind.Kind, err)
		}
		return nil
	}
	switch kind.Group + "/" + kind.Kind {
	case "apps/Deployment":
		var o appsv1.Deployment
		return &o.Spec.Template, decode(&o)
	case "apps/StatefulSet":
		var o appsv1.StatefulSet
		return &o.Spec.Template, decode(&o)
	case "apps/DaemonSet":
		var o appsv1.DaemonSet
		return &o.Spec.Template, decode(&o)
	case "apps/ReplicaSet":
		var o appsv1.ReplicaSet
		return &o.Spec.Template, decode(&o)
	case "batch/Job":
		var o batchv1.Job
		return &o.Spec.Template, decode(&o)
	case "batch/CronJob":
		var o batchv1.CronJob
		return &o.Spec.JobTemplate.Spec.Template, decode(&o)
	case "/ReplicationController":
		var o corev1.ReplicationController
		if err := decode(&o); err != nil || o.Spec.Template == nil {
			return nil, err
		}
		return o.Spec.Template, nil
	case "/PodTemplate":
		var o corev1.PodTemplate
		return &o.Template, decode(&o)
	case "/Pod":
		var o corev1.Pod
		if err := decode(&o); err != nil {
			return nil, err
		}
		return &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}, nil
	default:
		return nil, nil
	}
}
