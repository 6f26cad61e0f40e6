package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// Pieces of expected patches, written out as the API server receives them.
const tolerateGPU = `{"op":"add","path":"/spec/tolerations","value":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]}`

// tolerate is the patch adding the toleration of a vendor's taint, named
// like its resource.
func tolerate(key string) string {
	return `{"op":"add","path":"/spec/tolerations","value":[{"key":"` + key + `","operator":"Exists","effect":"NoSchedule"}]}`
}

func patchOf(ops ...string) string { return "[" + strings.Join(ops, ",") + "]" }

func applied(v string) string {
	return fmt.Sprintf(`{"op":"add","path":"/metadata/annotations/gpuplane.io~1applied","value":%q}`, v)
}

// resources is the resources op of container i: every "name=value" as limit and request.
func resources(i int, amounts ...string) string {
	var list []string
	for _, a := range amounts {
		name, value, _ := strings.Cut(a, "=")
		list = append(list, fmt.Sprintf("%q:%q", name, value))
	}
	l := "{" + strings.Join(list, ",") + "}"
	return fmt.Sprintf(`{"op":"add","path":"/spec/containers/%d/resources","value":{"limits":%s,"requests":%s}}`, i, l, l)
}

// in is a node selector requirement with operator In.
func in(key string, values ...string) string {
	return fmt.Sprintf(`{"key":%q,"operator":"In","values":%s}`, key, jsonString(values))
}

func jsonString(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// terms are required node selector terms, each a list of requirements.
func terms(ts ...[]string) string {
	var out []string
	for _, t := range ts {
		out = append(out, `{"matchExpressions":[`+strings.Join(t, ",")+`]}`)
	}
	return `"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[` + strings.Join(out, ",") + `]}`
}

func reqs(r ...string) []string { return r }

// preferred are preferred terms of one requirement each: weight, requirement, ...
func preferred(pairs ...any) string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, fmt.Sprintf(`{"weight":%d,"preference":{"matchExpressions":[%s]}}`, pairs[i], pairs[i+1]))
	}
	return `"preferredDuringSchedulingIgnoredDuringExecution":[` + strings.Join(out, ",") + `]`
}

func affinity(parts ...string) string {
	return `{"op":"add","path":"/spec/affinity","value":{"nodeAffinity":{` + strings.Join(parts, ",") + `}}}`
}

var gpuTrue, vgpuTrue, trainTrue = in("gpu", "true"), in("vgpu", "true"), in("train", "true")

func TestMutatePatch(t *testing.T) {
	tests := []struct {
		name  string
		pod   *corev1.Pod
		opts  Options
		patch string
	}{
		{
			name:  "N: whole cards of any type",
			pod:   makePod().withGPU("2").obj(),
			patch: patchOf(applied("2"), resources(0, "nvidia.com/gpu=2"), affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name: "N(TYPE)",
			pod:  makePod().withGPU("1(T4)").obj(),
			patch: patchOf(applied("1(T4)"), resources(0, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue, in("gpu-type", "T4")))), tolerateGPU),
		},
		{
			name: "N(TYPE) in lower case, spaced, full-width",
			pod:  makePod().withGPU(" 1 （t4） ").obj(),
			patch: patchOf(applied("1(T4)"), resources(0, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue, in("gpu-type", "T4")))), tolerateGPU),
		},
		{
			name: "N(ALIAS) applies the canonical type",
			pod:  makePod().withGPU("2(V100M32)").obj(),
			patch: patchOf(applied("2(V100)"), resources(0, "nvidia.com/gpu=2"),
				affinity(terms(reqs(gpuTrue, in("gpu-type", "V100")))), tolerateGPU),
		},
		{
			name: "N(T1|T2): preferred in the written order",
			pod:  makePod().withGPU("2(V100|A100)").obj(),
			patch: patchOf(applied("2(V100|A100)"), resources(0, "nvidia.com/gpu=2"),
				affinity(terms(reqs(gpuTrue, in("gpu-type", "V100", "A100"))),
					preferred(100, in("gpu-type", "V100"), 50, in("gpu-type", "A100"))),
				tolerateGPU),
		},
		{
			// A whole virtual card is the whole card: its cores here, all of
			// its memory booked by the extender on the card it picks.
			name: "N(VGPU): whole virtual cards, cores only",
			pod:  makePod().withGPU("1(VGPU)").obj(),
			patch: patchOf(applied("1(VGPU)"), resources(0, "tencent.com/vcuda-core=100"),
				affinity(terms(reqs(vgpuTrue))), tolerateGPU),
		},
		{
			name: "F(TYPE): cores and memory in proportion",
			pod:  makePod().withGPU("0.5(T4)").obj(),
			patch: patchOf(applied("0.5(T4)"), resources(0, "tencent.com/vcuda-core=50", "tencent.com/vcuda-memory=32"),
				affinity(terms(reqs(vgpuTrue, in("gpu-type", "T4")))), tolerateGPU),
		},
		{
			name: "F(TYPE,MEM): memory as written",
			pod:  makePod().withGPU("0.25(A10,8Gi)").obj(),
			patch: patchOf(applied("0.25(A10,8Gi)"), resources(0, "tencent.com/vcuda-core=25", "tencent.com/vcuda-memory=32"),
				affinity(terms(reqs(vgpuTrue, in("gpu-type", "A10")))), tolerateGPU),
		},
		{
			name: "F(MEM)",
			pod:  makePod().withGPU("0.5(4Gi)").obj(),
			patch: patchOf(applied("0.5(4Gi)"), resources(0, "tencent.com/vcuda-core=50", "tencent.com/vcuda-memory=16"),
				affinity(terms(reqs(vgpuTrue))), tolerateGPU),
		},
		{
			name: "N(VENDOR)",
			pod:  makePod().withGPU("1(ascend)").obj(),
			patch: patchOf(applied("1(ascend)"), resources(0, "huawei.com/Ascend910=1"),
				affinity(terms(reqs(in("ascend", "true")))), tolerate("huawei.com/Ascend910")),
		},
		{
			name: "N(VENDOR,TYPE)",
			pod:  makePod().withGPU("2(amd,MI250)").obj(),
			patch: patchOf(applied("2(amd,MI250)"), resources(0, "amd.com/gpu=2"),
				affinity(terms(reqs(in("amd", "true"), in("gpu-type", "MI250")))), tolerate("amd.com/gpu")),
		},
		{
			name: "0: no GPU, and the container sees none",
			pod:  makePod().withGPU("0").withEnv(0, "EPOCHS", "3").obj(),
			patch: patchOf(applied("0"),
				`{"op":"add","path":"/spec/containers/0/env","value":[{"name":"EPOCHS","value":"3"},{"name":"NVIDIA_VISIBLE_DEVICES","value":"none"}]}`),
		},
		{
			name: "0 with the placement resource: one of it, so the extender places the pod",
			pod:  makePod().withGPU("0").obj(),
			opts: Options{SchedulerName: "gpuplane", PlacementResource: "gpuplane.io/placement"},
			patch: patchOf(applied("0"), `{"op":"add","path":"/spec/schedulerName","value":"gpuplane"}`,
				resources(0, "gpuplane.io/placement=1"),
				`{"op":"add","path":"/spec/containers/0/env","value":[{"name":"NVIDIA_VISIBLE_DEVICES","value":"none"}]}`),
		},
		{
			name:  "the placement resource is not for device-plugin cards",
			pod:   makePod().withGPU("1").obj(),
			opts:  Options{PlacementResource: "gpuplane.io/placement"},
			patch: patchOf(applied("1"), resources(0, "nvidia.com/gpu=1"), affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name: "role: ANDed with the GPU requirements",
			pod:  makePod().withGPU("1(T4)").withAnnotation(api.AnnotationRole, "train").obj(),
			patch: patchOf(applied("1(T4)"), resources(0, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue, in("gpu-type", "T4"), trainTrue))), tolerateGPU),
		},
		{
			name: "existing affinity with two terms: requirements ANDed into each",
			pod: makePod().withGPU("2(V100)").
				withRequiredTerms(term("zone", "a"), term("zone", "b", "disk", "ssd")).obj(),
			patch: patchOf(applied("2(V100)"), resources(0, "nvidia.com/gpu=2"),
				affinity(terms(
					reqs(in("zone", "a"), gpuTrue, in("gpu-type", "V100")),
					reqs(in("zone", "b"), in("disk", "ssd"), gpuTrue, in("gpu-type", "V100")))),
				tolerateGPU),
		},
		{
			name: "existing affinity with no term gets one",
			pod:  makePod().withGPU("1").withRequiredTerms().obj(),
			patch: patchOf(applied("1"), resources(0, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name: "requirement already in a term is not repeated",
			pod:  makePod().withGPU("1").withRequiredTerms(term("gpu", "true"), term("zone", "a")).obj(),
			patch: patchOf(applied("1"), resources(0, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue), reqs(in("zone", "a"), gpuTrue))), tolerateGPU),
		},
		{
			name: "scheduler name replaces the default one",
			pod:  makePod().withGPU("1").withSchedulerName(corev1.DefaultSchedulerName).obj(),
			opts: Options{SchedulerName: "gpuplane"},
			patch: patchOf(applied("1"), `{"op":"add","path":"/spec/schedulerName","value":"gpuplane"}`,
				resources(0, "nvidia.com/gpu=1"), affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name:  "scheduler name already ours",
			pod:   makePod().withGPU("1").withSchedulerName("gpuplane").obj(),
			opts:  Options{SchedulerName: "gpuplane"},
			patch: patchOf(applied("1"), resources(0, "nvidia.com/gpu=1"), affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name: "container named by annotation",
			pod:  makePod("sidecar", "worker").withGPU("1").withAnnotation(api.AnnotationContainer, "worker").obj(),
			patch: patchOf(applied("1"), resources(1, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name: "container that already limits the same amount: requests added",
			pod:  makePod().withGPU("2").withLimit(0, "nvidia.com/gpu", "2").withLimit(0, "memory", "1Gi").obj(),
			patch: patchOf(applied("2"),
				`{"op":"add","path":"/spec/containers/0/resources","value":{"limits":{"memory":"1Gi","nvidia.com/gpu":"2"},"requests":{"nvidia.com/gpu":"2"}}}`,
				affinity(terms(reqs(gpuTrue))), tolerateGPU),
		},
		{
			name: "toleration already there is not repeated",
			pod: makePod().withGPU("1").withToleration(corev1.Toleration{
				Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
			}).obj(),
			patch: patchOf(applied("1"), resources(0, "nvidia.com/gpu=1"), affinity(terms(reqs(gpuTrue)))),
		},
		{
			name: "stale applied annotation is replaced",
			pod:  makePod().withGPU("1(T4)").withAnnotation(api.AnnotationApplied, "1(A10)").obj(),
			patch: patchOf(applied("1(T4)"), resources(0, "nvidia.com/gpu=1"),
				affinity(terms(reqs(gpuTrue, in("gpu-type", "T4")))), tolerateGPU),
		},
		{
			name:  "re-invocation: applied equals the request",
			pod:   makePod().withGPU("1(t4)").withAnnotation(api.AnnotationApplied, "1(T4)").obj(),
			patch: "null",
		},
		{
			name:  "no annotation: unchanged",
			pod:   makePod().withAnnotation(api.AnnotationRole, "nonsense").obj(),
			patch: "null",
		},
	}
	cat := catalog.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.pod.DeepCopy()
			out, err := Mutate(tt.pod, cat, tt.opts)
			if err != nil {
				t.Fatalf("Mutate: %v", err)
			}
			if !equality.Semantic.DeepEqual(before, tt.pod) {
				t.Fatal("Mutate modified its input")
			}
			ops := buildPatch(tt.pod, out)
			assertJSONEqual(t, mustJSON(t, ops), []byte(tt.patch))

			// The patch applied to the pod's JSON gives exactly the mutated pod.
			var patched corev1.Pod
			if err := json.Unmarshal(applyOps(t, mustJSON(t, tt.pod), ops), &patched); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(&patched, out) {
				t.Errorf("patched pod differs from Mutate's:\npatched: %s\nmutated: %s", mustJSON(t, &patched), mustJSON(t, out))
			}
			// Admitting the admitted pod again changes nothing.
			again, err := Mutate(out, cat, tt.opts)
			if err != nil {
				t.Fatalf("Mutate of the mutated pod: %v", err)
			}
			if ops := buildPatch(out, again); len(ops) != 0 {
				t.Errorf("re-invocation patches %s", mustJSON(t, ops))
			}
		})
	}
}

func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", got, want)
	}
}

func TestMutateRefusals(t *testing.T) {
	tests := []struct {
		name  string
		pod   *corev1.Pod
		opts  Options
		class error
		quote []string // each must appear in the message
	}{
		{name: "missing parenthesis", pod: makePod().withGPU("2(V100").obj(), class: ErrInvalidRequest, quote: []string{`"2(V100"`}},
		{name: "fraction above one", pod: makePod().withGPU("1.5").obj(), class: ErrInvalidRequest, quote: []string{`"1.5"`}},
		{name: "negative", pod: makePod().withGPU("-1").obj(), class: ErrInvalidRequest, quote: []string{`"-1"`}},
		{name: "empty", pod: makePod().withGPU("").obj(), class: ErrInvalidRequest, quote: []string{`""`}},
		{name: "unknown type", pod: makePod().withGPU("2(X999)").obj(), class: ErrInvalidRequest, quote: []string{`"2(X999)"`, "V100"}},
		{name: "memory above the card", pod: makePod().withGPU("0.5(T4,1Ti)").obj(), class: ErrInvalidRequest, quote: []string{`"0.5(T4,1Ti)"`}},
		{name: "count above the grammar", pod: makePod().withGPU("65").obj(), class: ErrInvalidRequest, quote: []string{`"65"`}},
		{
			name:  "unknown container",
			pod:   makePod("main", "sidecar").withGPU("1").withAnnotation(api.AnnotationContainer, "trainer").obj(),
			class: ErrUnknownContainer, quote: []string{`"trainer"`, `"main"`, `"sidecar"`},
		},
		{name: "no container", pod: func() *corev1.Pod { p := makePod().withGPU("1").obj(); p.Spec.Containers = nil; return p }(), class: ErrUnknownContainer},
		{
			name:  "unknown role",
			pod:   makePod().withGPU("1").withAnnotation(api.AnnotationRole, "chef").obj(),
			class: ErrUnknownRole, quote: []string{`"chef"`, "train"},
		},
		{
			name:  "limit of another amount",
			pod:   makePod().withGPU("2(V100)").withLimit(0, "nvidia.com/gpu", "1").obj(),
			class: ErrConflict, quote: []string{`"2(V100)"`, "nvidia.com/gpu", `"main"`},
		},
		{
			name:  "request of another amount",
			pod:   makePod().withGPU("0.5(T4)").withRequest(0, "tencent.com/vcuda-core", "20").obj(),
			class: ErrConflict, quote: []string{`"0.5(T4)"`, "tencent.com/vcuda-core"},
		},
		{
			name:  "container that sees every card",
			pod:   makePod().withGPU("0").withEnv(0, "NVIDIA_VISIBLE_DEVICES", "all").obj(),
			class: ErrConflict, quote: []string{`"0"`, "NVIDIA_VISIBLE_DEVICES", `"all"`},
		},
		{
			name:  "another scheduler",
			pod:   makePod().withGPU("1").withSchedulerName("volcano").obj(),
			opts:  Options{SchedulerName: "gpuplane"},
			class: ErrConflict, quote: []string{`"1"`, `"volcano"`, `"gpuplane"`},
		},
	}
	cat := catalog.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Mutate(tt.pod, cat, tt.opts)
			if err == nil {
				t.Fatalf("Mutate admitted the pod: %s", mustJSON(t, out))
			}
			if !errors.Is(err, tt.class) {
				t.Errorf("error %q is not %v", err, tt.class)
			}
			for _, q := range tt.quote {
				if !strings.Contains(err.Error(), q) {
					t.Errorf("message %q does not contain %s", err, q)
				}
			}
		})
	}
}

func TestReason(t *testing.T) {
	cat := catalog.Default()
	tests := []struct {
		pod  *corev1.Pod
		want string
	}{
		{makePod().withGPU("2(V100").obj(), "syntax"},
		{makePod().withGPU("2(X999)").obj(), "catalog"},
		{makePod().withGPU("1").withAnnotation(api.AnnotationContainer, "x").obj(), "container"},
		{makePod().withGPU("1").withAnnotation(api.AnnotationRole, "x").obj(), "role"},
		{makePod().withGPU("2").withLimit(0, "nvidia.com/gpu", "1").obj(), "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Mutate(tt.pod, cat, Options{})
			if got := Reason(err); got != tt.want {
				t.Errorf("Reason(%q) = %q, want %q", err, got, tt.want)
			}
		})
	}
	if got := Reason(errors.New("boom")); got != "other" {
		t.Errorf("Reason of a foreign error = %q, want other", got)
	}
}
