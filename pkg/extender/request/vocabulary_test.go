package request

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// TestVocabularyFromPools checks that the extender reads HAMi's resources
// by the names the catalog's HAMi pool gives them, and so serves the pods
// the webhook writes from the same catalog.
func TestVocabularyFromPools(t *testing.T) {
	const header = "apiVersion: gpuplane.io/v1alpha1\nkind: GPUCatalog\n"
	type names struct{ card, mem, pct, cores corev1.ResourceName }
	vendors := []corev1.ResourceName{"nvidia.com/gpu", "amd.com/gpu", "huawei.com/Ascend910"}
	defaults := names{"nvidia.com/gpu", "nvidia.com/gpumem", "nvidia.com/gpumem-percentage", "nvidia.com/gpucores"}
	cases := []struct {
		name  string
		pools string
		want  names
		// whole are the whole-card resources: the vendors' (nvidia's
		// first), then HAMi's when renamed.
		whole []corev1.ResourceName
		// requests are resolved by the catalog, written on a pod and read
		// back by the extender: each must be a HAMi request.
		requests []string
	}{
		{name: "no pools: HAMi's defaults", want: defaults, whole: vendors},
		{name: "a HAMi pool with HAMi's defaults", pools: "pools:\n  - {name: h, types: [A100], sharing: hami}\n",
			want: defaults, whole: vendors, requests: []string{"0.5(A100)", "1(VGPU)", "0.25(A100,10Gi)"}},
		{name: "renamed memory and cores", pools: "pools:\n  - name: h\n    types: [A100]\n    sharing: hami\n    hami:\n      memoryResource: example.com/vmem\n      memoryPercentageResource: example.com/vmem-pct\n      coresResource: example.com/vcores\n",
			want:  names{"nvidia.com/gpu", "example.com/vmem", "example.com/vmem-pct", "example.com/vcores"},
			whole: vendors, requests: []string{"0.5(A100)", "1(VGPU)", "2(VGPU)"}},
		{name: "renamed card resource is also read as whole cards", pools: "pools:\n  - name: h\n    types: [A100, T4]\n    sharing: hami\n    hami:\n      resource: example.com/vgpu\n",
			want:  names{"example.com/vgpu", "nvidia.com/gpumem", "nvidia.com/gpumem-percentage", "nvidia.com/gpucores"},
			whole: append(vendors[:len(vendors):len(vendors)], "example.com/vgpu"), requests: []string{"0.5(A100)", "0.25(T4)", "1(VGPU)"}},
		{name: "the first HAMi pool after others", pools: "pools:\n  - {name: m, types: [A100], sharing: mig}\n  - {name: ts, types: [T4], sharing: timeslice}\n  - name: h\n    types: [V100]\n    sharing: hami\n    hami: {coresResource: example.com/vcores}\n  - {name: default}\n",
			want:  names{"nvidia.com/gpu", "nvidia.com/gpumem", "nvidia.com/gpumem-percentage", "example.com/vcores"},
			whole: vendors, requests: []string{"0.5(V100)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := catalog.Load(strings.NewReader(header + tc.pools))
			if err != nil {
				t.Fatal(err)
			}
			v := VocabularyFrom(cat)
			got := names{v.HAMiResource, v.HAMiMemoryResource, v.HAMiMemoryPercent, v.HAMiCoreResource}
			if got != tc.want {
				t.Errorf("HAMi's names %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(v.WholeResources, tc.whole) {
				t.Errorf("whole resources %v, want %v", v.WholeResources, tc.whole)
			}
			if v.MIGResourcePrefix != catalog.MIGResourcePrefix || v.TimesliceResource != catalog.TimesliceSharedResource {
				t.Errorf("MIG prefix %q, time-slice resource %q; want the catalog's %q, %q",
					v.MIGResourcePrefix, v.TimesliceResource, catalog.MIGResourcePrefix, catalog.TimesliceSharedResource)
			}
			for _, s := range tc.requests {
				res, err := cat.ParseResolve(s)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				if res.Sharing != catalog.SharingHAMi {
					t.Fatalf("%s: served by %q, want hami", s, res.Sharing)
				}
				p, err := Of(podWith(res.Resources), v)
				if err != nil {
					t.Fatalf("%s: the webhook's %v: %v", s, res.Resources, err)
				}
				if len(p.Parts) != 1 || p.Parts[0].Req.Sharing != placement.SharingHAMi {
					t.Fatalf("%s: the webhook's %v read as %+v, want one HAMi part", s, res.Resources, p.Parts)
				}
				r := p.Parts[0].Req
				want := placement.Request{Cards: res.Count, Milli: placement.MilliPerCard, VGPU: true, Sharing: placement.SharingHAMi}
				if res.Kind == catalog.KindShare {
					want.Milli, want.CardMemoryMiB = int64(res.Hundredths)*placement.MilliPerCard/100, res.MemoryMiB
				}
				if r.Cards != want.Cards || r.Milli != want.Milli || r.CardMemoryMiB != want.CardMemoryMiB || !r.VGPU {
					t.Errorf("%s: the webhook's %v read as %+v, want %+v", s, res.Resources, r, want)
				}
			}
		})
	}
}

// podWith is a pod of one container whose limits and requests are the
// amounts, as the webhook writes them.
func podWith(amounts []catalog.Amount) *corev1.Pod {
	l := corev1.ResourceList{}
	for _, a := range amounts {
		l[corev1.ResourceName(a.Name)] = *resource.NewQuantity(a.Value, resource.DecimalSI)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main",
			Resources: corev1.ResourceRequirements{Limits: l, Requests: l.DeepCopy()}}}},
	}
}

// A catalog type read from two places (a node's annotation, a pod's
// affinity) comes back as one string; a name the catalog lacks as itself.
func TestInternType(t *testing.T) {
	v := VocabularyFrom(catalog.Default())
	a, b := v.InternType(string([]byte("V100"))), v.InternType(string([]byte("V100")))
	if a != "V100" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("V100 interned as %q at %p and %q at %p", a, unsafe.StringData(a), b, unsafe.StringData(b))
	}
	if got := v.InternType("X9000"); got != "X9000" {
		t.Fatalf("an unknown type interned as %q", got)
	}
	if got := (&Vocabulary{}).InternType("V100"); got != "V100" {
		t.Fatalf("a vocabulary without a catalog interned V100 as %q", got)
	}
}
