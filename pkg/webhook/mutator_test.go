package webhook

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gpuplane/gpuplane/pkg/api"
)

func TestPodMutatorHandle(t *testing.T) {
	admitted := func() []byte {
		// The pod as the API server stores it after a first admission.
		m := newTestMutator(t, Options{}, nil)
		pod := makePod().withGPU("2(V100|A100)").obj()
		raw := mustJSON(t, pod)
		return applyPatch(t, raw, handle(t, m, rawPodRequest(raw)).Patch)
	}()
	tests := []struct {
		name      string
		req       func(t *testing.T) admission.Request
		allowed   bool
		code      int32
		patched   bool
		msgQuotes []string
	}{
		{
			name:    "pod without the annotation: allowed unchanged",
			req:     func(t *testing.T) admission.Request { return podRequest(t, makePod().obj()) },
			allowed: true, code: http.StatusOK,
		},
		{
			name:    "pod with a request: patched",
			req:     func(t *testing.T) admission.Request { return podRequest(t, makePod().withGPU("1(T4)").obj()) },
			allowed: true, code: http.StatusOK, patched: true,
		},
		{
			name:    "re-invocation: allowed with no patch",
			req:     func(*testing.T) admission.Request { return rawPodRequest(admitted) },
			allowed: true, code: http.StatusOK,
		},
		{
			name: "conflicting limit: denied",
			req: func(t *testing.T) admission.Request {
				return podRequest(t, makePod().withGPU("2(V100)").withLimit(0, "nvidia.com/gpu", "4").obj())
			},
			code: http.StatusForbidden, msgQuotes: []string{`"2(V100)"`, "nvidia.com/gpu"},
		},
		{
			name:      "bad request: denied",
			req:       func(t *testing.T) admission.Request { return podRequest(t, makePod().withGPU("2(V100").obj()) },
			code:      http.StatusForbidden,
			msgQuotes: []string{`"2(V100"`},
		},
		{
			name: "unknown container: denied",
			req: func(t *testing.T) admission.Request {
				return podRequest(t, makePod().withGPU("1").withAnnotation(api.AnnotationContainer, "gpu").obj())
			},
			code: http.StatusForbidden, msgQuotes: []string{`"gpu"`, `"main"`},
		},
		{
			name: "unknown role: denied",
			req: func(t *testing.T) admission.Request {
				return podRequest(t, makePod().withGPU("1").withAnnotation(api.AnnotationRole, "batch").obj())
			},
			code: http.StatusForbidden, msgQuotes: []string{`"batch"`},
		},
		{
			name: "object that is not a pod: errored",
			req: func(*testing.T) admission.Request {
				return rawPodRequest([]byte(`{"apiVersion":"v1","kind":"Pod","spec":7}`))
			},
			code: http.StatusBadRequest,
		},
		{
			name: "no object: errored",
			req:  func(*testing.T) admission.Request { return rawPodRequest(nil) },
			code: http.StatusBadRequest,
		},
		{
			name: "update: allowed unchanged",
			req: func(t *testing.T) admission.Request {
				r := podRequest(t, makePod().withGPU("1").obj())
				r.Operation = admissionv1.Update
				return r
			},
			allowed: true, code: http.StatusOK,
		},
		{
			name: "another kind: allowed unchanged",
			req: func(t *testing.T) admission.Request {
				r := podRequest(t, makePod().withGPU("1").obj())
				r.Kind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
				return r
			},
			allowed: true, code: http.StatusOK,
		},
		{
			name: "subresource: allowed unchanged",
			req: func(t *testing.T) admission.Request {
				r := podRequest(t, makePod().withGPU("1").obj())
				r.SubResource = "ephemeralcontainers"
				return r
			},
			allowed: true, code: http.StatusOK,
		},
	}
	m := newTestMutator(t, Options{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req(t)
			resp := handle(t, m, req)
			if resp.UID != req.UID {
				t.Errorf("UID = %q, want %q", resp.UID, req.UID)
			}
			if resp.Allowed != tt.allowed {
				t.Errorf("Allowed = %v, want %v (result %+v)", resp.Allowed, tt.allowed, resp.Result)
			}
			if resp.Result == nil || resp.Result.Code != tt.code {
				t.Errorf("Result = %+v, want code %d", resp.Result, tt.code)
			}
			if got := len(resp.Patch) > 0; got != tt.patched {
				t.Errorf("patched = %v, want %v (patch %s)", got, tt.patched, resp.Patch)
			}
			if tt.patched && (resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch) {
				t.Errorf("PatchType = %v, want JSONPatch", resp.PatchType)
			}
			for _, q := range tt.msgQuotes {
				if resp.Result == nil || !strings.Contains(resp.Result.Message, q) {
					t.Errorf("message %q does not contain %s", resp.Result.Message, q)
				}
			}
		})
	}
}

func TestPodMutatorPatchMatchesMutate(t *testing.T) {
	m := newTestMutator(t, Options{SchedulerName: "gpuplane"}, nil)
	pod := makePod("side", "main").withGPU("0.5(T4)").withAnnotation(api.AnnotationContainer, "main").
		withAnnotation(api.AnnotationRole, "notebook").withRequiredTerms(term("zone", "a"), term("zone", "b")).obj()
	raw := mustJSON(t, pod)
	resp := handle(t, m, rawPodRequest(raw))
	var got corev1.Pod
	if err := json.Unmarshal(applyPatch(t, raw, resp.Patch), &got); err != nil {
		t.Fatal(err)
	}
	want, err := Mutate(pod, m.Catalog, m.Options)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, mustJSON(t, &got), mustJSON(t, want))
}

func TestPodMutatorRecoversPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m := newTestMutator(t, Options{}, metrics)
	m.Catalog = nil // resolving against no catalog panics
	req := podRequest(t, makePod().withGPU("1").obj())
	resp := handle(t, m, req)
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusInternalServerError {
		t.Fatalf("response = %+v, want a 500", resp.AdmissionResponse)
	}
	if resp.UID != req.UID {
		t.Errorf("UID = %q, want %q", resp.UID, req.UID)
	}
	if got := testutil.ToFloat64(metrics.refusals.WithLabelValues(PathMutatePod, "panic")); got != 1 {
		t.Errorf("panics counted = %v, want 1", got)
	}
}
