package perf

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
	"github.com/gpuplane/gpuplane/pkg/sim"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// traceRows are pod rows of every kind the trace has.
const traceRows = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec
whole,12000,16384,1,1000,
shared,6000,12288,1,460,
eight,88000,327680,8,1000,
typed,4000,8192,2,1000,V100M16|V100M32
typed-share,3152,5600,1,810,T4
cpu,8000,30517,0,0,
`

// TracePod asks what the trace row asks, and the webhook admits it as the
// same request: whole cards as the device plugin's resource, a share as its
// vGPU cores, the models as the catalog's names in the node affinity, the
// CPU and memory as requests; every pod, with GPU or without ("0"), goes to
// gpuplane's scheduler.
func TestTracePodThroughWebhook(t *testing.T) {
	pods, err := sim.ReadPods(strings.NewReader(traceRows))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	tests := []struct {
		annotation string
		resource   string
		amount     int64
		types      []string
	}{
		{"1", "nvidia.com/gpu", 1, nil},
		{"0.46", "tencent.com/vcuda-core", 46, nil},
		{"8", "nvidia.com/gpu", 8, nil},
		{"2(V100M16|V100M32)", "nvidia.com/gpu", 2, []string{"V100-16GB", "V100"}},
		{"0.81(T4)", "tencent.com/vcuda-core", 81, []string{"T4"}},
		{"0", "", 0, nil},
	}
	for i, tt := range tests {
		p := &pods[i]
		t.Run(p.Name, func(t *testing.T) {
			pod, err := TracePod("p", "ns", p)
			if err != nil {
				t.Fatal(err)
			}
			c := pod.Spec.Containers[0]
			if got := c.Resources.Requests.Cpu().MilliValue(); got != p.Request.CPUMilli {
				t.Errorf("CPU request %d milli, want %d", got, p.Request.CPUMilli)
			}
			if got := c.Resources.Requests.Memory().Value() >> 20; got != p.Request.MemoryMiB {
				t.Errorf("memory request %d MiB, want %d", got, p.Request.MemoryMiB)
			}
			if got := pod.Annotations[api.AnnotationGPU]; got != tt.annotation {
				t.Fatalf("annotation %q, want %q", got, tt.annotation)
			}
			admitted, err := webhook.Mutate(pod, cat, webhook.Options{SchedulerName: "gpuplane-scheduler"})
			if err != nil {
				t.Fatal(err)
			}
			if limits := admitted.Spec.Containers[0].Resources.Limits; tt.resource == "" && len(limits) > 0 {
				t.Errorf("a pod without GPU limited to %v", limits)
			} else if q := limits[corev1.ResourceName(tt.resource)]; q.Value() != tt.amount {
				t.Errorf("%s %d, want %d", tt.resource, q.Value(), tt.amount)
			}
			var types []string
			if a := admitted.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
				for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
					for _, e := range term.MatchExpressions {
						if e.Key == cat.Labels.GPUType {
							types = e.Values
						}
					}
				}
			}
			if !slices.Equal(types, tt.types) {
				t.Errorf("types %v, want %v", types, tt.types)
			}
			if admitted.Spec.SchedulerName != "gpuplane-scheduler" {
				t.Errorf("scheduler %q", admitted.Spec.SchedulerName)
			}
		})
	}
}

// TraceNodeSpec gives a trace node its cards as the catalog's type with
// the type's memory, both ways of handing them out, and its host resources.
func TestTraceNodeSpec(t *testing.T) {
	nodes, err := sim.ReadNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\nn1,96000,393216,8,V100M32\nc1,64000,262144,0,\nbad,8000,1024,1,X999\n"))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	spec, err := TraceNodeSpec(&nodes[0], cat)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pods": traceNodePods, "cpu": "96000m", "memory": "393216Mi",
		"nvidia.com/gpu": "8", "tencent.com/vcuda-core": "800", "tencent.com/vcuda-memory": "1024"}
	if !equalMaps(spec.Capacity, want) {
		t.Errorf("capacity %v, want %v", spec.Capacity, want)
	}
	if spec.Labels["gpu"] != "true" || spec.Labels["vgpu"] != "true" || spec.Labels["gpu-type"] != "V100" || spec.Labels[api.LabelGPUCount] != "8" {
		t.Errorf("labels %v", spec.Labels)
	}
	devices, err := api.DecodeDevices(spec.Annotations[api.AnnotationDevices])
	if err != nil || len(devices) != 8 || devices[7].Type != "V100" || devices[7].MemoryMiB != 32768 || devices[7].Index != 7 {
		t.Errorf("devices %+v (%v)", devices, err)
	}
	plain, err := TraceNodeSpec(&nodes[1], cat)
	if err != nil || len(plain.Labels) != 0 || len(plain.Annotations) != 0 || plain.Capacity["cpu"] != "64000m" {
		t.Errorf("node without cards: %+v (%v)", plain, err)
	}
	if _, err := TraceNodeSpec(&nodes[2], cat); !errors.Is(err, ErrTraceObject) {
		t.Errorf("unknown model: %v, want ErrTraceObject", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Every request the trace format can hold and a user can write comes back
// from the webhook's parser as the same cards, share and types; a share
// finer than a hundredth is refused with ErrTraceObject.
func FuzzTraceRequest(f *testing.F) {
	f.Add(1, int64(1000), "")
	f.Add(1, int64(460), "T4")
	f.Add(4, int64(1000), "V100M16|V100M32")
	f.Add(1, int64(455), "")
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, cards int, milli int64, spec string) {
		r := placement.Request{Cards: cards, Milli: milli}
		if spec != "" {
			r.Types = strings.Split(spec, "|")
		}
		if cards < 1 || cards > 8 || milli < 1 || milli > 1000 || (cards > 1 && milli != 1000) || r.Validate() != nil {
			return
		}
		canonical := map[string]string{} // catalog name -> the name written
		for _, typ := range r.Types {
			ct, ok := cat.Type(typ)
			if !ok || strings.TrimSpace(typ) != typ {
				return
			}
			if was, dup := canonical[ct.Name]; dup && !strings.EqualFold(was, typ) {
				return // two names of one type (an alias): the webhook refuses it, rightly
			}
			canonical[ct.Name] = typ
		}
		r.VGPU = milli < 1000
		s, err := TraceRequest(&r)
		if milli%10 != 0 {
			if !errors.Is(err, ErrTraceObject) {
				t.Fatalf("share of %d milli: %q, %v; want ErrTraceObject", milli, s, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		res, err := cat.ParseResolve(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if r.IsShare() {
			if res.Kind != catalog.KindShare || int64(res.Hundredths)*10 != milli {
				t.Fatalf("%q resolved to %+v, want a share of %d milli", s, res, milli)
			}
		} else if res.Kind != catalog.KindWhole || res.Count != cards {
			t.Fatalf("%q resolved to %+v, want %d whole cards", s, res, cards)
		}
		if len(res.Types) != len(canonical) {
			t.Fatalf("%q resolved to types %v, want those of %v", s, res.Types, r.Types)
		}
	})
}

// Compare counts pod by pod: same node, both placed elsewhere, one only.
func TestCompare(t *testing.T) {
	a := sim.Result{Nodes: []int{0, 1, -1, 2, -1, 3}}
	b := sim.Result{Nodes: []int{0, 2, -1, -1, 4, 3, 7}}
	want := Agreement{Pods: 6, SameNode: 2, BothPlaced: 3, OnlyA: 1, OnlyB: 1, FirstDiff: 1}
	if got := Compare(a, b); got != want {
		t.Errorf("Compare = %+v, want %+v", got, want)
	}
	if got := Compare(a, a); got.FirstDiff != -1 || got.SameNode != 4 || got.OnlyA+got.OnlyB != 0 {
		t.Errorf("Compare with itself = %+v", got)
	}
}
