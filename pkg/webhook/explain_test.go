package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		input, role string
		want        string
	}{
		{
			// The example of SPEC §7.
			input: "2(V100)",
			want: `{"input":"2(V100)","canonical":"2(V100)","resources":{"nvidia.com/gpu":"2"},
				"nodeAffinity":{"required":[{"key":"gpu","operator":"In","values":["true"]},
				{"key":"gpu-type","operator":"In","values":["V100"]}],"preferred":[]},
				"tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}],"env":{},"sharing":null}`,
		},
		{
			input: "2(v100 | a100)", role: "train",
			want: `{"input":"2(v100 | a100)","canonical":"2(V100|A100)","resources":{"nvidia.com/gpu":"2"},
				"nodeAffinity":{"required":[{"key":"gpu","operator":"In","values":["true"]},
				{"key":"gpu-type","operator":"In","values":["V100","A100"]},{"key":"train","operator":"In","values":["true"]}],
				"preferred":[{"weight":100,"key":"gpu-type","operator":"In","values":["V100"]},
				{"weight":50,"key":"gpu-type","operator":"In","values":["A100"]}]},
				"tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}],"env":{},"sharing":null}`,
		},
		{
			input: "0.5(T4)",
			want: `{"input":"0.5(T4)","canonical":"0.5(T4)","resources":{"tencent.com/vcuda-core":"50","tencent.com/vcuda-memory":"32"},
				"nodeAffinity":{"required":[{"key":"vgpu","operator":"In","values":["true"]},
				{"key":"gpu-type","operator":"In","values":["T4"]}],"preferred":[]},
				"tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}],"env":{},
				"sharing":{"pool":"default","backend":"gpu-manager","isolation":{"memory":true,"compute":true}}}`,
		},
		{
			input: "0",
			want: `{"input":"0","canonical":"0","resources":{},"nodeAffinity":{"required":[],"preferred":[]},
				"tolerations":[],"env":{"NVIDIA_VISIBLE_DEVICES":"none"},"sharing":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			e, err := Explain(tt.input, tt.role, catalog.Default(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, mustJSON(t, e), []byte(tt.want))
		})
	}
}

// sharingCatalog has a pool of each backend.
const sharingCatalog = `apiVersion: gpuplane.io/v1alpha1
kind: GPUCatalog
pools:
  - name: hami
    types: [A100]
    sharing: hami
  - name: mig
    types: [A100, H100]
    sharing: mig
  - name: ts
    types: [T4]
    sharing: timeslice
`

func TestExplainSharing(t *testing.T) {
	cat, err := catalog.Load(strings.NewReader(sharingCatalog))
	if err != nil {
		t.Fatal(err)
	}
	tol := `"tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}],"env":{}`
	tests := []struct{ input, want string }{
		{"0.5(A100)", `{"input":"0.5(A100)","canonical":"0.5(A100)",
			"resources":{"nvidia.com/gpu":"1","nvidia.com/gpumem":"40960","nvidia.com/gpucores":"50"},
			"nodeAffinity":{"required":[{"key":"gpuplane.io/sharing","operator":"In","values":["hami"]},
			{"key":"gpuplane.io/pool","operator":"In","values":["hami"]},{"key":"gpu-type","operator":"In","values":["A100"]}],"preferred":[]},
			` + tol + `,"sharing":{"pool":"hami","backend":"hami","isolation":{"memory":true,"compute":true}}}`},
		{"1(H100,mig-3g.40gb)", `{"input":"1(H100,mig-3g.40gb)","canonical":"1(H100,mig-3g.40gb)",
			"resources":{"nvidia.com/mig-3g.40gb":"1"},
			"nodeAffinity":{"required":[{"key":"gpuplane.io/sharing","operator":"In","values":["mig"]},
			{"key":"gpuplane.io/pool","operator":"In","values":["mig"]},{"key":"gpu-type","operator":"In","values":["H100"]}],"preferred":[]},
			` + tol + `,"sharing":{"pool":"mig","backend":"mig","migProfile":"3g.40gb","isolation":{"memory":true,"compute":true}}}`},
		{"0.25(T4)", `{"input":"0.25(T4)","canonical":"0.25(T4)",
			"resources":{"nvidia.com/gpu.shared":"1"},
			"nodeAffinity":{"required":[{"key":"gpuplane.io/sharing","operator":"In","values":["timeslice"]},
			{"key":"gpuplane.io/pool","operator":"In","values":["ts"]},{"key":"gpu-type","operator":"In","values":["T4"]}],"preferred":[]},
			` + tol + `,"sharing":{"pool":"ts","backend":"timeslice","isolation":{"memory":false,"compute":false}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			e, err := Explain(tt.input, "", cat, Options{})
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, mustJSON(t, e), []byte(tt.want))
		})
	}
	_, err = Explain("0.25(T4,4Gi)", "", cat, Options{})
	if err == nil || !strings.Contains(err.Error(), "time-slicing, which does not isolate memory") || !strings.Contains(err.Error(), "write 0.25(T4) for") {
		t.Fatalf("0.25(T4,4Gi) on time-slicing: %v", err)
	}
}

func TestExplainRefusalIsTheHandlersMessage(t *testing.T) {
	cat := catalog.Default()
	for _, input := range []string{"2(V100", "1.5", "2(X999)", "0.5(T4,1Ti)", ""} {
		t.Run(input, func(t *testing.T) {
			_, err := Explain(input, "", cat, Options{})
			if err == nil {
				t.Fatal("Explain accepted it")
			}
			m := newTestMutator(t, Options{}, nil)
			pod := makePod(explainContainer).withGPU(input).obj()
			resp := handle(t, m, podRequest(t, pod))
			if resp.Allowed || resp.Result.Message != err.Error() {
				t.Errorf("Explain says %q, the handler %q", err, resp.Result.Message)
			}
			if !strings.Contains(err.Error(), `"`+input+`"`) {
				t.Errorf("message %q does not quote the input", err)
			}
		})
	}
	if _, err := Explain("1", "chef", cat, Options{}); !errors.Is(err, ErrUnknownRole) {
		t.Errorf("unknown role: err = %v, want ErrUnknownRole", err)
	}
}

func TestExplainPod(t *testing.T) {
	cat := catalog.Default()
	podYAMLish := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nb","annotations":{"gpuplane.io/gpu":"1(T4)","gpuplane.io/role":"notebook","team":"vision"}},
		"spec":{"containers":[{"name":"jupyter","image":"jupyter:1","futureField":{"kept":true}}]}}`)
	out, err := ExplainPod(context.Background(), podYAMLish, cat, Options{SchedulerName: "gpuplane"})
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(out, &pod); err != nil {
		t.Fatal(err)
	}
	if got := pod.Annotations[api.AnnotationApplied]; got != "1(T4)" {
		t.Errorf("applied = %q, want 1(T4)", got)
	}
	if pod.Annotations["team"] != "vision" || pod.Spec.SchedulerName != "gpuplane" {
		t.Errorf("pod = %s", out)
	}
	if q := pod.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; q.String() != "1" {
		t.Errorf("limit = %s, want 1", q.String())
	}
	// A field this build does not know is kept, as the API server would keep it.
	if !strings.Contains(string(out), `"futureField":{"kept":true}`) {
		t.Errorf("unknown field lost: %s", out)
	}

	unchanged := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"plain"},"spec":{"containers":[{"name":"c"}]}}`)
	if out, err := ExplainPod(context.Background(), unchanged, cat, Options{}); err != nil || string(out) != string(unchanged) {
		t.Errorf("pod without a request: %s, %v; want it unchanged", out, err)
	}

	_, err = ExplainPod(context.Background(), []byte(`{"metadata":{"annotations":{"gpuplane.io/gpu":"2(V100"}},"spec":{"containers":[{"name":"c"}]}}`), cat, Options{})
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), `"2(V100"`) || strings.HasPrefix(err.Error(), "denied") {
		t.Errorf("refused pod: err = %v, want ErrDenied with the webhook's message", err)
	}
	if _, err := ExplainPod(context.Background(), []byte(`{"spec":3}`), cat, Options{}); err == nil || errors.Is(err, ErrDenied) {
		t.Errorf("unreadable pod: err = %v, want a failure that is not a refusal", err)
	}
}
