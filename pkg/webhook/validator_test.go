package webhook

import (
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// workload wraps a pod template into an object of kind and says how it is sent.
type workload struct {
	kind metav1.GroupVersionKind
	wrap func(corev1.PodTemplateSpec) runtime.Object
}

func workloads() map[string]workload {
	apps := func(kind string) metav1.GroupVersionKind {
		return metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: kind}
	}
	batch := func(kind string) metav1.GroupVersionKind {
		return metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: kind}
	}
	return map[string]workload{
		"Deployment": {apps("Deployment"), func(t corev1.PodTemplateSpec) runtime.Object {
			return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: t}}
		}},
		"StatefulSet": {apps("StatefulSet"), func(t corev1.PodTemplateSpec) runtime.Object {
			return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: t}}
		}},
		"DaemonSet": {apps("DaemonSet"), func(t corev1.PodTemplateSpec) runtime.Object {
			return &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: t}}
		}},
		"ReplicaSet": {apps("ReplicaSet"), func(t corev1.PodTemplateSpec) runtime.Object {
			return &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: t}}
		}},
		"Job": {batch("Job"), func(t corev1.PodTemplateSpec) runtime.Object {
			return &batchv1.Job{Spec: batchv1.JobSpec{Template: t}}
		}},
		"CronJob": {batch("CronJob"), func(t corev1.PodTemplateSpec) runtime.Object {
			return &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}}}}
		}},
		"ReplicationController": {metav1.GroupVersionKind{Version: "v1", Kind: "ReplicationController"}, func(t corev1.PodTemplateSpec) runtime.Object {
			return &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &t}}
		}},
		"Pod": {metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, func(t corev1.PodTemplateSpec) runtime.Object {
			return &corev1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
		}},
	}
}

func templateOf(p *corev1.Pod) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
}

func workloadRequest(t *testing.T, w workload, op admissionv1.Operation, obj, old *corev1.Pod) admission.Request {
	t.Helper()
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-w", Kind: w.kind, Namespace: "ml", Name: "w", Operation: op,
		Object: runtime.RawExtension{Raw: mustJSON(t, w.wrap(templateOf(obj)))},
	}}
	if old != nil {
		req.OldObject = runtime.RawExtension{Raw: mustJSON(t, w.wrap(templateOf(old)))}
	}
	return req
}

func newTestValidator(t *testing.T) *WorkloadValidator {
	t.Helper()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	return &WorkloadValidator{Catalog: catalog.Default(), Decoder: dec}
}

func TestWorkloadValidatorKinds(t *testing.T) {
	v := newTestValidator(t)
	cat := catalog.Default()
	pods := map[string]*corev1.Pod{
		"good":                   makePod().withGPU("2(V100|A100)").withAnnotation(api.AnnotationRole, "train").obj(),
		"no annotation":          makePod().obj(),
		"bad syntax":             makePod().withGPU("2(V100").obj(),
		"unknown type":           makePod().withGPU("2(X999)").obj(),
		"unknown container":      makePod().withGPU("1").withAnnotation(api.AnnotationContainer, "x").obj(),
		"conflicting limit":      makePod().withGPU("1").withLimit(0, "nvidia.com/gpu", "2").obj(),
		"unknown role":           makePod().withGPU("1").withAnnotation(api.AnnotationRole, "x").obj(),
		"already applied, good":  makePod().withGPU("1").withAnnotation(api.AnnotationApplied, "1").obj(),
		"fraction above one":     makePod().withGPU("1.5").obj(),
		"0 with visible devices": makePod().withGPU("0").withEnv(0, "NVIDIA_VISIBLE_DEVICES", "all").obj(),
	}
	for kind, w := range workloads() {
		for name, pod := range pods {
			t.Run(kind+"/"+name, func(t *testing.T) {
				_, wantErr := Mutate(pod, cat, Options{})
				resp := handle(t, v, workloadRequest(t, w, admissionv1.Create, pod, nil))
				if resp.Allowed != (wantErr == nil) {
					t.Fatalf("Allowed = %v, want %v (result %+v)", resp.Allowed, wantErr == nil, resp.Result)
				}
				if wantErr == nil {
					return
				}
				if resp.Result.Code != http.StatusForbidden {
					t.Errorf("code = %d, want 403", resp.Result.Code)
				}
				// Same message as the pod webhook gives.
				if resp.Result.Message != wantErr.Error() {
					t.Errorf("message = %q, want the pod webhook's %q", resp.Result.Message, wantErr.Error())
				}
			})
		}
	}
}

func TestWorkloadValidatorOperations(t *testing.T) {
	v := newTestValidator(t)
	deploy := workloads()["Deployment"]
	bad := makePod().withGPU("2(V100").obj()
	otherBad := makePod().withGPU("3(V100").obj()
	good := makePod().withGPU("2(V100)").obj()
	tests := []struct {
		name     string
		req      admission.Request
		allowed  bool
		warnings int
	}{
		{name: "update that keeps an old problem: allowed with a warning",
			req: workloadRequest(t, deploy, admissionv1.Update, bad, bad), allowed: true, warnings: 1},
		{name: "update that brings a new problem: denied",
			req: workloadRequest(t, deploy, admissionv1.Update, bad, good)},
		{name: "update that changes the problem: denied",
			req: workloadRequest(t, deploy, admissionv1.Update, otherBad, bad)},
		{name: "update that fixes the problem: allowed",
			req: workloadRequest(t, deploy, admissionv1.Update, good, bad), allowed: true},
		{name: "delete: allowed",
			req: workloadRequest(t, deploy, admissionv1.Delete, bad, nil), allowed: true},
		{name: "kind without a template: allowed",
			req: admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				UID: "u", Operation: admissionv1.Create,
				Kind:   metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
				Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap"}`)},
			}}, allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := handle(t, v, tt.req)
			if resp.Allowed != tt.allowed {
				t.Errorf("Allowed = %v, want %v (result %+v)", resp.Allowed, tt.allowed, resp.Result)
			}
			if len(resp.Warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", resp.Warnings, tt.warnings)
			}
			if len(resp.Patch) != 0 {
				t.Errorf("the validator patched: %s", resp.Patch)
			}
		})
	}
}

func TestWorkloadValidatorBadBody(t *testing.T) {
	v := newTestValidator(t)
	resp := handle(t, v, admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "u", Operation: admissionv1.Create,
		Kind:   metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Object: runtime.RawExtension{Raw: []byte(`{"spec":{"template":[]}}`)},
	}})
	if resp.Allowed || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("response = %+v, want a 400", resp.AdmissionResponse)
	}
}
