package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "sigs.k8s.io/json"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// FuzzAdmissionReview sends arbitrary bodies to both webhooks. Whatever the bytes,
// the answer is an AdmissionReview with a response; a refusal carries a message; a
// patch applies to the object sent, and admitting the patched pod again changes
// nothing.
func FuzzAdmissionReview(f *testing.F) {
	for _, pod := range []*corev1.Pod{
		makePod().withGPU("2(V100|A100)").withRequiredTerms(term("zone", "a"), term("zone", "b")).obj(),
		makePod("a", "b").withGPU("0.5(T4)").withAnnotation(api.AnnotationContainer, "b").obj(),
		makePod().withGPU("0").withAnnotation(api.AnnotationRole, "train").obj(),
		makePod().withGPU("1(VGPU)").withLimit(0, "tencent.com/vcuda-core", "100").obj(),
		makePod().withGPU("2(V100").obj(),
		makePod().obj(),
	} {
		f.Add(admissionReview(f, podRequest(f, pod).AdmissionRequest), false)
		f.Add(admissionReview(f, admissionv1.AdmissionRequest{
			UID: "w", Operation: admissionv1.Update,
			Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			Object:    runtime.RawExtension{Raw: []byte(`{"spec":{"template":` + string(mustJSON(f, templateOf(pod))) + `}}`)},
			OldObject: runtime.RawExtension{Raw: []byte(`{"spec":{"template":{}}}`)},
		}), true)
	}
	for _, body := range []string{
		"", "{}", "null", `{"request":null}`, `{"request":{}}`, `[]`,
		`{"request":{"uid":"x","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"metadata":{"annotations":{"gpuplane.io/gpu":"1"}},"spec":{"containers":[{"name":"c","resources":null,"env":null}],"affinity":null,"tolerations":null}}}}`,
		`{"request":{"uid":"x","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"metadata":{"annotations":{"gpuplane.io/gpu":"1"}}}}}`,
		`{"request":{"uid":"x","kind":{"group":"batch","version":"v1","kind":"CronJob"},"operation":"CREATE","object":{"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"annotations":{"gpuplane.io/gpu":"1.5"}}}}}}}}}`,
	} {
		f.Add([]byte(body), false)
		f.Add([]byte(body), true)
	}

	handler, err := NewHandler(HandlerOptions{Catalog: catalog.Default(), Mutate: Options{SchedulerName: "gpuplane"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, validate bool) {
		path := PathMutatePod
		if validate {
			path = PathValidateWorkloads
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)

		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP status %d", rec.Code)
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &review); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body.Bytes())
		}
		resp := review.Response
		if resp == nil {
			t.Fatalf("answer without a response: %s", rec.Body.Bytes())
		}
		if !resp.Allowed && (resp.Result == nil || resp.Result.Message == "") {
			t.Fatalf("refusal without a message: %s", rec.Body.Bytes())
		}
		if len(resp.Patch) == 0 {
			return
		}
		if validate || !resp.Allowed {
			t.Fatalf("patch from the validator or with a refusal: %s", rec.Body.Bytes())
		}
		// The API server decodes case-sensitively, as the webhook does.
		var in admissionv1.AdmissionReview
		if err := k8sjson.UnmarshalCaseSensitivePreserveInts(body, &in); err != nil || in.Request == nil {
			t.Fatalf("a patch for a body that does not decode (%v)", err)
		}
		patch, err := jsonpatch.DecodePatch(resp.Patch)
		if err != nil {
			t.Fatalf("invalid patch %s: %v", resp.Patch, err)
		}
		patched, err := patch.Apply(in.Request.Object.Raw)
		if err != nil {
			t.Fatalf("patch %s does not apply to %s: %v", resp.Patch, in.Request.Object.Raw, err)
		}
		var pod corev1.Pod
		if err := k8sjson.UnmarshalCaseSensitivePreserveInts(patched, &pod); err != nil {
			t.Fatalf("patched pod does not decode: %v: %s", err, patched)
		}
		again, err := Mutate(&pod, catalog.Default(), Options{SchedulerName: "gpuplane"})
		if err != nil {
			t.Fatalf("patched pod refused: %v", err)
		}
		if ops := buildPatch(&pod, again); len(ops) != 0 {
			t.Fatalf("patched pod patched again: %s", mustJSON(t, ops))
		}
	})
}
