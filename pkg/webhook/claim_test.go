package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// draCatalog has a DRA pool of V100s and A100s before the default one.
func draCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{
		{Name: "dra", Types: []string{"V100", "A100"}, Allocation: catalog.AllocationDRA},
		{Name: catalog.DefaultPool},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMutateDRA(t *testing.T) {
	cat := draCatalog(t)
	pod := makePod("side", "main").withGPU("2(V100|A100)").withAnnotation(api.AnnotationContainer, "main").obj()
	out, err := Mutate(pod, cat, Options{})
	if err != nil {
		t.Fatal(err)
	}
	name := out.Labels[api.LabelClaimTemplate]
	if !strings.HasPrefix(name, "gpuplane-2-v100-a100-") {
		t.Fatalf("label %s=%q", api.LabelClaimTemplate, name)
	}
	rcs := out.Spec.ResourceClaims
	if len(rcs) != 1 || rcs[0].Name != api.ClaimName || rcs[0].ResourceClaimTemplateName == nil || *rcs[0].ResourceClaimTemplateName != name {
		t.Fatalf("resourceClaims %+v", rcs)
	}
	main := out.Spec.Containers[1]
	if len(main.Resources.Claims) != 1 || main.Resources.Claims[0].Name != api.ClaimName {
		t.Errorf("container claims %+v", main.Resources.Claims)
	}
	if len(main.Resources.Limits) != 0 || len(out.Spec.Containers[0].Resources.Claims) != 0 {
		t.Errorf("limits %v; side container claims %v", main.Resources.Limits, out.Spec.Containers[0].Resources.Claims)
	}
	if out.Annotations[api.AnnotationApplied] != "2(V100|A100)" || len(out.Spec.Tolerations) != 1 {
		t.Errorf("applied %q, tolerations %v", out.Annotations[api.AnnotationApplied], out.Spec.Tolerations)
	}
	// Re-invocation changes nothing; a pod that already carries the same
	// claim (a template mutated before) is accepted as it is.
	again, err := Mutate(out, cat, Options{})
	if err != nil || again != out {
		t.Fatalf("re-invocation: %v", err)
	}
	delete(out.Annotations, api.AnnotationApplied)
	again, err = Mutate(out, cat, Options{})
	if err != nil || len(again.Spec.ResourceClaims) != 1 || len(again.Spec.Containers[1].Resources.Claims) != 1 {
		t.Fatalf("mutating a mutated pod: %v %+v", err, again.Spec)
	}

	// Another pool's types keep the device-plugin form; "0" too.
	for _, in := range []string{"1(T4)", "0"} {
		out, err := Mutate(makePod().withGPU(in).obj(), cat, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Spec.ResourceClaims) != 0 || out.Labels[api.LabelClaimTemplate] != "" {
			t.Errorf("%s took the DRA form", in)
		}
	}
	// The DRA form asks no GPU resource the extender manages: with the
	// placement resource set it gets one of it, so kube-scheduler asks the
	// extender; a device-plugin request does not.
	for _, tc := range []struct {
		in, container string
		want          corev1.ResourceList
	}{
		{in: "2(V100|A100)", container: "main", want: corev1.ResourceList{"gpuplane.io/placement": resource.MustParse("1")}},
		{in: "1(T4)", container: "main", want: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}},
	} {
		pod := makePod("side", "main").withGPU(tc.in).withAnnotation(api.AnnotationContainer, tc.container).obj()
		out, err := Mutate(pod, cat, Options{PlacementResource: "gpuplane.io/placement"})
		if err != nil {
			t.Fatal(err)
		}
		main := out.Spec.Containers[1].Resources
		if !equality.Semantic.DeepEqual(main.Limits, tc.want) || !equality.Semantic.DeepEqual(main.Requests, tc.want) {
			t.Errorf("%s with the placement resource: limits %v, requests %v, want %v", tc.in, main.Limits, main.Requests, tc.want)
		}
		if side := out.Spec.Containers[0].Resources; len(side.Limits)+len(side.Requests) != 0 {
			t.Errorf("%s: the side container asks %v %v", tc.in, side.Limits, side.Requests)
		}
	}
	out, err = Mutate(makePod().withGPU("1(T4)").obj(), cat, Options{ForceDRA: true})
	if err != nil || len(out.Spec.ResourceClaims) != 1 || out.Spec.Containers[0].Resources.Limits != nil {
		t.Errorf("ForceDRA: %v %+v", err, out.Spec)
	}
}

func TestMutateDRARefusals(t *testing.T) {
	cat := draCatalog(t)
	other := "elsewhere"
	cases := []struct {
		name  string
		pod   *corev1.Pod
		class error
		want  string
	}{
		{"too many cards for a claim", makePod().withGPU("33 (v100)").obj(), ErrInvalidRequest,
			`gpuplane.io/gpu: "33 (v100)": 33 cards in one claim is not possible; a ResourceClaim holds at most 32 devices; ask at most 32`},
		{"vendor resource too", makePod().withGPU("2(V100)").withLimit(0, "nvidia.com/gpu", "2").obj(), ErrConflict,
			`gpuplane.io/gpu "2(V100)" gives the cards through a ResourceClaim (the pool allocates by DRA), but container "main" also asks nvidia.com/gpu: 2; remove that resource`},
		{"claim of the same name", func() *corev1.Pod {
			p := makePod().withGPU("2(V100)").obj()
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: api.ClaimName, ResourceClaimName: &other}}
			return p
		}(), ErrConflict, `needs the pod's resource claim "gpuplane-gpu" made from template gpuplane-2-v100-`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Mutate(tc.pod, cat, Options{})
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %v: %s", err, tc.class, tc.want)
			}
		})
	}
}

func TestExplainDRA(t *testing.T) {
	e, err := Explain("2(V100)", "", draCatalog(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.ResourceClaimTemplate == nil || len(e.Resources) != 0 ||
		e.ResourceClaimTemplate.Spec.Spec.Devices.Requests[0].Exactly.Count != 2 {
		t.Fatalf("explanation %+v", e)
	}
	e, err = Explain("2(V100)", "", catalog.Default(), Options{})
	if err != nil || e.ResourceClaimTemplate != nil || e.Resources["nvidia.com/gpu"] != "2" {
		t.Fatalf("device-plugin explanation %+v, %v", e, err)
	}
}

// TestPatchCarriesTheDRAForm: the handler's patch, applied as the API server
// applies it, gives the pod Mutate made: its claim, the container's claim and
// the template label, next to the labels the pod had.
func TestPatchCarriesTheDRAForm(t *testing.T) {
	cat := draCatalog(t)
	for _, in := range []string{
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"gpuplane.io/gpu":"2(V100)"}},"spec":{"containers":[{"name":"c"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"x"},"annotations":{"gpuplane.io/gpu":"2(V100|A100)"}},"spec":{"containers":[{"name":"c"}]}}`,
	} {
		out, err := ExplainPod(t.Context(), []byte(in), cat, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got, orig corev1.Pod
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(in), &orig); err != nil {
			t.Fatal(err)
		}
		want, err := Mutate(&orig, cat, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(&got, want) {
			t.Errorf("patched pod\n%s\nis not Mutate's\n%+v", out, want)
		}
	}
}

// BenchmarkMutateForms: the cost of the DRA form against the device-plugin
// form of the same request, on the same catalog.
func BenchmarkMutateForms(b *testing.B) {
	cat, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{
		{Name: "dra", Types: []string{"V100", "A100"}, Allocation: catalog.AllocationDRA},
		{Name: catalog.DefaultPool},
	}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, req string }{{"dra", "2(V100|A100)"}, {"device-plugin", "2(T4|L4)"}} {
		b.Run(bc.name, func(b *testing.B) {
			pod := makePod().withGPU(bc.req).obj()
			for b.Loop() {
				if _, err := Mutate(pod, cat, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
