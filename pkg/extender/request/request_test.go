package request

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func TestTranslate(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	cases := []struct {
		name     string
		pod      *corev1.Pod
		want     []Part
		resource corev1.ResourceName
		err      string
	}{
		{
			name:     "2(V100) as the webhook writes it",
			pod:      extendertest.MakePod("p").GPUs(2).Types("V100").Obj(),
			want:     []Part{{Container: WholeContainer, Req: placement.Whole(2, "V100")}},
			resource: "nvidia.com/gpu",
		},
		{
			name:     "1 card of any type",
			pod:      extendertest.MakePod("p").GPUs(1).Obj(),
			want:     []Part{{Container: WholeContainer, Req: placement.Whole(1)}},
			resource: "nvidia.com/gpu",
		},
		{
			name:     "preferred order of several types kept",
			pod:      extendertest.MakePod("p").GPUs(4).Types("T4", "V100").Obj(),
			want:     []Part{{Container: WholeContainer, Req: placement.Whole(4, "T4", "V100")}},
			resource: "nvidia.com/gpu",
		},
		{
			name: "share: 50 cores and 32 units of 256Mi",
			pod:  extendertest.MakePod("p").VGPU(0, 50, 32).Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.Share(500, 8192)}},
		},
		{
			name: "typed share",
			pod:  extendertest.MakePod("p").VGPU(0, 25, 16).Types("A100").Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.Share(250, 4096, "A100")}},
		},
		{
			name: "share without memory",
			pod:  extendertest.MakePod("p").VGPU(0, 30, 0).Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.Share(300, 0)}},
		},
		{
			name: "2(VGPU): two virtual whole cards",
			pod:  extendertest.MakePod("p").VGPU(0, 200, 128).Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.Request{Cards: 2, Milli: 1000, VGPU: true}}},
		},
		{
			name: "shares in two containers",
			pod:  extendertest.MakePod("p").VGPU(0, 50, 8).VGPU(1, 20, 4).Obj(),
			want: []Part{
				{Container: 0, Name: "main", Req: placement.Share(500, 2048)},
				{Container: 1, Name: "c1", Req: placement.Share(200, 1024)},
			},
		},
		{
			name:     "other vendor",
			pod:      extendertest.MakePod("p").Limit(0, "amd.com/gpu", "2").Types("MI250").Obj(),
			want:     []Part{{Container: WholeContainer, Req: placement.Whole(2, "MI250")}},
			resource: "amd.com/gpu",
		},
		{
			name:     "requests without limits",
			pod:      extendertest.MakePod("p").Request(0, "nvidia.com/gpu", "3").Obj(),
			want:     []Part{{Container: WholeContainer, Req: placement.Whole(3)}},
			resource: "nvidia.com/gpu",
		},
		{
			name: "whole cards summed over containers",
			pod:  extendertest.MakePod("p").GPUs(1).Limit(1, "nvidia.com/gpu", "2").Obj(),
			want: []Part{{Container: WholeContainer, Req: placement.Whole(3)}}, resource: "nvidia.com/gpu",
		},
		{
			name: "whole cards and a share in another container",
			pod:  extendertest.MakePod("p").GPUs(1).VGPU(1, 50, 0).Obj(),
			want: []Part{
				{Container: WholeContainer, Req: placement.Whole(1)},
				{Container: 1, Name: "c1", Req: placement.Share(500, 0)},
			},
			resource: "nvidia.com/gpu",
		},
		{
			name: "host CPU and memory on the first part",
			pod: func() *corev1.Pod {
				p := extendertest.MakePod("p").GPUs(1).Request(0, corev1.ResourceCPU, "2").Request(0, corev1.ResourceMemory, "1Gi").Obj()
				p.Spec.InitContainers = []corev1.Container{
					{Name: "init", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}},
					{Name: "sidecar", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}}},
				}
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
				return p
			}(),
			want:     []Part{{Container: WholeContainer, Req: placement.Request{Cards: 1, Milli: 1000, CPUMilli: 4100, MemoryMiB: 1536}}},
			resource: "nvidia.com/gpu",
		},
		{
			name: "no GPU",
			pod:  extendertest.MakePod("p").Request(0, corev1.ResourceCPU, "500m").Obj(),
			want: []Part{{Container: WholeContainer, Req: placement.Request{CPUMilli: 500}}},
		},
		{name: "cores not a multiple of a card", pod: extendertest.MakePod("p").VGPU(0, 150, 0).Obj(), err: "tencent.com/vcuda-core 150: above one card"},
		{name: "memory without cores", pod: extendertest.MakePod("p").Limit(0, testVoc.MemoryResource, "8").Obj(), err: "without tencent.com/vcuda-core"},
		{name: "whole and vGPU in one container", pod: extendertest.MakePod("p").GPUs(1).VGPU(0, 50, 0).Obj(), err: "both nvidia.com/gpu and tencent.com/vcuda-core"},
		{name: "two vendors", pod: extendertest.MakePod("p").GPUs(1).Limit(1, "amd.com/gpu", "1").Obj(), err: "both nvidia.com/gpu and amd.com/gpu"},
		{name: "two vendors in one container", pod: extendertest.MakePod("p").GPUs(1).Limit(0, "amd.com/gpu", "1").Obj(), err: "one vendor"},
		{name: "more cards than any request may", pod: extendertest.MakePod("p").GPUs(65).Obj(), err: "want 1..64"},
		{
			name: "HAMi share: 25% of the cores and 4 GiB",
			pod:  extendertest.MakePod("p").HAMi(0, 1, 25, 4096).Types("T4").Obj(),
			want: []Part{{Container: 0, Name: "main", Req: hamiShare(250, 4096, "T4"), HAMiCores: 25, HAMiMemoryMiB: 4096}},
		},
		{
			name: "HAMi share without a core limit",
			pod:  extendertest.MakePod("p").HAMi(0, 1, 0, 2048).Obj(),
			want: []Part{{Container: 0, Name: "main", Req: hamiShare(1, 2048), HAMiMemoryMiB: 2048}},
		},
		{
			name: "HAMi whole cards: all the cores",
			pod:  extendertest.MakePod("p").HAMi(0, 2, 100, 0).Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.Request{Cards: 2, Milli: 1000, VGPU: true, Sharing: placement.SharingHAMi}, HAMiCores: 100}},
		},
		{
			name: "MIG profile",
			pod:  extendertest.MakePod("p").Limit(0, "nvidia.com/mig-3g.40gb", "1").Types("A100").Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.UnitsOf(1, "mig-3g.40gb", placement.SharingMIG, "A100")}},
		},
		{
			name: "time-slice replica",
			pod:  extendertest.MakePod("p").Limit(0, "nvidia.com/gpu.shared", "1").Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.UnitsOf(1, "gpu.shared", placement.SharingTimeslice)}},
		},
		{name: "HAMi share of several cards", pod: extendertest.MakePod("p").HAMi(0, 2, 30, 1024).Obj(), err: "places a HAMi share on one card"},
		{name: "HAMi share without memory", pod: extendertest.MakePod("p").HAMi(0, 1, 30, 0).Obj(), err: "write the card memory it needs in MiB"},
		{name: "HAMi share's memory in percent", pod: extendertest.MakePod("p").HAMi(0, 1, 30, 0).Limit(0, "nvidia.com/gpumem-percentage", "50").Obj(), err: "gpumem-percentage is not served"},
		{
			name: "HAMi whole cards as the webhook writes 2(VGPU): all the cores, 100% of the memory",
			pod:  extendertest.MakePod("p").HAMi(0, 2, 100, 0).Limit(0, "nvidia.com/gpumem-percentage", "100").Obj(),
			want: []Part{{Container: 0, Name: "main", Req: placement.Request{Cards: 2, Milli: 1000, VGPU: true, Sharing: placement.SharingHAMi}, HAMiCores: 100}},
		},
		{name: "HAMi cores above a card", pod: extendertest.MakePod("p").HAMi(0, 1, 150, 1024).Obj(), err: "want 0..100"},
		{name: "HAMi cores without cards", pod: extendertest.MakePod("p").Limit(0, "nvidia.com/gpucores", "30").Obj(), err: "without nvidia.com/gpu"},
		{name: "two MIG profiles in a container", pod: extendertest.MakePod("p").Limit(0, "nvidia.com/mig-3g.40gb", "1").Limit(0, "nvidia.com/mig-1g.10gb", "1").Obj(), err: "units of one kind"},
		{name: "MIG and HAMi in a container", pod: extendertest.MakePod("p").Limit(0, "nvidia.com/mig-3g.40gb", "1").HAMi(0, 1, 30, 1024).Obj(), err: "one backend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Of(tc.pod, testVoc)
			if tc.err != "" {
				if !errors.Is(err, ErrPodRequest) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Of = %v, want ErrPodRequest mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Of: %v", err)
			}
			if !reflect.DeepEqual(got.Parts, tc.want) || got.WholeResource != tc.resource {
				t.Fatalf("Of =\n  %+v (%q)\nwant\n  %+v (%q)", got.Parts, got.WholeResource, tc.want, tc.resource)
			}
		})
	}
}

func TestRequiredTypes(t *testing.T) {
	term := func(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: exprs}
	}
	in := func(key string, vs ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: corev1.NodeSelectorOpIn, Values: vs}
	}
	withTerms := func(sel map[string]string, terms ...corev1.NodeSelectorTerm) *corev1.Pod {
		p := extendertest.MakePod("p").Obj()
		p.Spec.NodeSelector = sel
		if len(terms) > 0 {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
			}}
		}
		return p
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{name: "none", pod: withTerms(nil), want: nil},
		{name: "one term", pod: withTerms(nil, term(in("gpu", "true"), in("gpu-type", "T4", "V100"))), want: []string{"T4", "V100"}},
		{name: "union of terms", pod: withTerms(nil, term(in("gpu-type", "T4")), term(in("gpu-type", "A100", "T4"))), want: []string{"T4", "A100"}},
		{name: "a term without a type leaves it open", pod: withTerms(nil, term(in("gpu-type", "T4")), term(in("train", "true"))), want: nil},
		{name: "two expressions in a term intersect", pod: withTerms(nil, term(in("gpu-type", "T4", "V100"), in("gpu-type", "V100", "A100"))), want: []string{"V100"}},
		{name: "other operators ignored", pod: withTerms(nil, term(corev1.NodeSelectorRequirement{Key: "gpu-type", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"T4"}})), want: nil},
		{name: "node selector", pod: withTerms(map[string]string{"gpu-type": "A10"}), want: []string{"A10"}},
		{name: "node selector narrows affinity", pod: withTerms(map[string]string{"gpu-type": "V100"}, term(in("gpu-type", "T4", "V100"))), want: []string{"V100"}},
		{name: "contradiction fits no card", pod: withTerms(map[string]string{"gpu-type": "A10"}, term(in("gpu-type", "T4"))), want: []string{"A10 and T4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := requiredTypes(tc.pod, "gpu-type"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("requiredTypes = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHostRequests counts a pod's CPU and memory as kube-scheduler does.
// The cases after "overhead" are those a count of the containers' specs
// alone gets wrong.
func TestHostRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	res := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	withPod := func(f func(p *corev1.Pod)) *corev1.Pod {
		p := extendertest.MakePod("p").Request(0, corev1.ResourceCPU, "1").Request(0, corev1.ResourceMemory, "1Gi").Obj()
		f(p)
		return p
	}
	cases := []struct {
		name       string
		pod        *corev1.Pod
		cpu, memMi int64
	}{
		{name: "containers", pod: withPod(func(*corev1.Pod) {}), cpu: 1000, memMi: 1024},
		{name: "a larger init container", pod: withPod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: res("3", "")}}}
		}), cpu: 3000, memMi: 1024},
		{name: "a sidecar adds to the containers and to later init containers", pod: withPod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{
				{Name: "side", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: res("500m", "512Mi")}},
				{Name: "init", Resources: corev1.ResourceRequirements{Requests: res("1", "2Gi")}},
			}
		}), cpu: 1500, memMi: 2560},
		{name: "overhead", pod: withPod(func(p *corev1.Pod) { p.Spec.Overhead = res("100m", "1Mi") }), cpu: 1100, memMi: 1025},
		{name: "pod-level requests replace the containers' sum", pod: withPod(func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: res("4", "8Gi")}
		}), cpu: 4000, memMi: 8192},
		{name: "pod-level requests of one resource", pod: withPod(func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: res("", "3Gi")}
		}), cpu: 1000, memMi: 3072},
		{name: "a resize in place shrinking the pod holds what was allocated until done", pod: withPod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", AllocatedResources: res("2", "4Gi"),
				Resources: &corev1.ResourceRequirements{Requests: res("2", "4Gi")}}}
		}), cpu: 2000, memMi: 4096},
		{name: "an infeasible resize holds what runs, not the spec", pod: withPod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = res("64", "1Ti")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", AllocatedResources: res("1", "1Gi"),
				Resources: &corev1.ResourceRequirements{Requests: res("1", "1Gi")}}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodResizePending, Status: corev1.ConditionTrue, Reason: corev1.PodReasonInfeasible}}
		}), cpu: 1000, memMi: 1024},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cpu, mem := Host(tc.pod)
			if cpu != tc.cpu || mem != tc.memMi {
				t.Fatalf("Host = %dm CPU, %d MiB; want %dm, %d MiB", cpu, mem, tc.cpu, tc.memMi)
			}
		})
	}
}

var testVoc = VocabularyFrom(catalog.Default())

func hamiShare(milli, mem int64, types ...string) placement.Request {
	r := placement.Share(milli, mem, types...)
	r.Sharing = placement.SharingHAMi
	return r
}
