package extender

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// benchCluster returns nodes of 8 cards, half whole V100 and half vGPU T4,
// and podsPerNode bound pods on each, drawn at random so that nodes differ
// as in a real cluster: on the V100s 0..6 pods of one whole card and the
// rest without GPU; on the T4s shares of 10..50% on random cards (a pod
// without GPU where the card drawn is full). The pods are as the API server
// holds them (image, env, labels and all).
func benchCluster(nodes, podsPerNode int) ([]*corev1.Node, []*corev1.Pod) {
	rng := rand.New(rand.NewPCG(11, 12))
	sizes := []int{10, 20, 25, 30, 50}
	ns := make([]*corev1.Node, nodes)
	var ps []*corev1.Pod
	for i := range ns {
		name := fmt.Sprintf("node-%05d", i)
		vgpu := i%2 == 1
		if vgpu {
			ns[i] = makeNode(name).vgpuCards(8, "T4").obj()
		} else {
			ns[i] = makeNode(name).whole(8, "V100").obj()
		}
		wholePods := rng.IntN(7)
		var cores [8]int
		for j := range podsPerNode {
			var p *corev1.Pod
			pb := makePod(fmt.Sprintf("p-%05d-%02d", i, j))
			switch {
			case vgpu:
				card, size := rng.IntN(8), sizes[rng.IntN(len(sizes))]
				if cores[card]+size > 100 {
					p = pb.on(name).obj()
					break
				}
				cores[card] += size
				p = pb.vgpu(0, size, size*64/100).types("T4").
					assigned(name, api.CardShare{Index: card, Cores: size, MemoryMiB: int64(size*64/100) * 256}).obj()
			case j < wholePods:
				p = pb.gpus(1).types("V100").on(name).obj()
			default:
				p = pb.on(name).obj()
			}
			c := &p.Spec.Containers[0]
			c.Image = "registry.example/team/train:v1.2.3"
			c.Command = []string{"python", "-m", "train", "--epochs=100"}
			c.Env = []corev1.EnvVar{{Name: "DATA", Value: "/data/set-a"}, {Name: "LOG_LEVEL", Value: "info"}}
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")}
			p.Labels = map[string]string{"app": "train", "team": "vision", "job": fmt.Sprintf("job-%d", i)}
			pb.annotate(api.AnnotationApplied, "1(V100)")
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			ps = append(ps, p)
		}
	}
	return ns, ps
}

func benchExtender(b *testing.B, nodes, podsPerNode int, policy string) (*Extender, []string) {
	b.Helper()
	state := NewState(testVoc, fakeClock(), time.Minute, klog.Background())
	ns, ps := benchCluster(nodes, podsPerNode)
	for _, n := range ns {
		state.SetNode(n)
	}
	for _, p := range ps {
		state.SetPod(p)
	}
	p, learner, err := NewPolicy(policy)
	if err != nil {
		b.Fatal(err)
	}
	if learner != nil {
		// The mix of the cluster: what auto and fgd measure against.
		for _, pod := range ps[:min(len(ps), 1000)] {
			observeRequest(pod, testVoc, learner.Observe)
		}
	}
	m, err := NewMetrics(prometheus.NewRegistry(), state)
	if err != nil {
		b.Fatal(err)
	}
	ext, err := New(Config{State: state, Vocabulary: testVoc, Policy: p, Client: fake.NewClientset(), Pods: clientPods{}, Metrics: m})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.Name
	}
	return ext, names
}

// processCPU is the CPU time the process has used: on a shared, busy
// machine the wall-clock percentiles include waiting for a core, and this
// says what the work itself costs.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPercentiles adds p50 and p99 of the iterations' durations.
// timePerPod runs one pod's scheduling as the benchmark's loop and reports,
// besides ns/op and allocations, the process's CPU per pod and the
// percentiles of the wall time.
func timePerPod(b *testing.B, one func()) {
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		start := time.Now()
		one()
		durations = append(durations, time.Since(start))
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/1e6/float64(len(durations)), "cpu-ms/op")
	reportPercentiles(b, durations)
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkFilterPrioritize is one pod's filter and prioritize calls over
// every node (node names only, as with nodeCacheCapable), in-process: what
// the extender does per scheduling cycle, without the HTTP transport.
func BenchmarkFilterPrioritize(b *testing.B) {
	pods := map[string]*corev1.Pod{
		"whole":   makePod("p").gpus(2).types("V100").obj(),
		"share":   makePod("p").vgpu(0, 50, 32).types("T4").obj(),
		"anycard": makePod("p").gpus(1).obj(),
	}
	for _, nodes := range []int{1000, 5000, 10000} {
		for _, policy := range []string{placement.PolicyAuto, placement.PolicyBinpack} {
			for _, kind := range []string{"whole", "share", "anycard"} {
				b.Run(fmt.Sprintf("nodes=%d/policy=%s/pod=%s", nodes, policy, kind), func(b *testing.B) {
					ext, names := benchExtender(b, nodes, 8, policy)
					ctx := context.Background()
					pod := pods[kind]
					timePerPod(b, func() {
						args := &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}
						res := ext.Filter(ctx, args)
						scores := ext.Prioritize(ctx, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: res.NodeNames})
						if len(*res.NodeNames) == 0 || len(scores) != len(*res.NodeNames) {
							b.Fatalf("%d fit, %d scored", len(*res.NodeNames), len(scores))
						}
					})
				})
			}
		}
	}
}

// BenchmarkFilterPrioritizeHTTP is the same through the HTTP handler: JSON
// in and out, as kube-scheduler calls it (no network).
func BenchmarkFilterPrioritizeHTTP(b *testing.B) {
	benchHTTP(b, func(b *testing.B, post poster, args []byte) func() {
		// kube-scheduler asks prioritize about the nodes filter kept.
		var filtered extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(post("/filter", args), &filtered); err != nil {
			b.Fatal(err)
		}
		var decoded extenderv1.ExtenderArgs
		if err := json.Unmarshal(args, &decoded); err != nil {
			b.Fatal(err)
		}
		prioritizeArgs, err := json.Marshal(extenderv1.ExtenderArgs{Pod: decoded.Pod, NodeNames: filtered.NodeNames})
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			post("/filter", args)
			post("/prioritize", prioritizeArgs)
		}
	})
}

// BenchmarkFilterBestHTTP is one pod's /filter-best over every node through
// the HTTP handler: the shipped configuration's single call, in place of
// the two of BenchmarkFilterPrioritizeHTTP.
func BenchmarkFilterBestHTTP(b *testing.B) {
	benchHTTP(b, func(_ *testing.B, post poster, args []byte) func() {
		return func() { post("/filter-best", args) }
	})
}

// poster posts a body to a path of the handler and returns the answer,
// failing the benchmark on anything but a 200.
type poster func(path string, body []byte) []byte

// benchHTTP runs, at each cluster size, the calls schedule returns for one
// pod's arguments (a vGPU T4 share, every node a candidate), and reports
// the CPU and the percentiles per pod.
func benchHTTP(b *testing.B, schedule func(b *testing.B, post poster, args []byte) func()) {
	for _, nodes := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			ext, names := benchExtender(b, nodes, 8, placement.PolicyAuto)
			h := ext.Handler(HandlerOptions{})
			pod := makePod("p").vgpu(0, 50, 32).types("T4").obj()
			args, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
			if err != nil {
				b.Fatal(err)
			}
			post := func(path string, body []byte) []byte {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", path, bytes.NewReader(body)))
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
				return rec.Body.Bytes()
			}
			timePerPod(b, schedule(b, post, args))
		})
	}
}

// BenchmarkStateMemory measures the heap the extender holds for 5,000 nodes
// of 8 cards and 40,000 bound pods: its own state, and the state together
// with the informer cache (the summaries of nodes and bound pods the
// informers keep, cards and records included, as the transforms build them).
func BenchmarkStateMemory(b *testing.B) {
	const nodes, podsPerNode = 5000, 8
	for b.Loop() {
		base := heapInUse()
		ns, ps := benchCluster(nodes, podsPerNode)
		state := NewState(testVoc, fakeClock(), time.Minute, klog.Background())
		nodeT, podT := nodeTransform(state), podTransform(state, true)
		cache := make([]any, 0, len(ns)+len(ps))
		for _, n := range ns {
			obj, err := nodeT(n)
			if err != nil {
				b.Fatal(err)
			}
			cache = append(cache, obj)
		}
		for _, p := range ps {
			obj, err := podT(p)
			if err != nil {
				b.Fatal(err)
			}
			cache = append(cache, obj)
		}
		ns, ps = nil, nil
		cacheBytes := heapInUse() - base
		nodeH, podH := nodeHandlers(state), podHandlers(state, func(*placement.Request) {})
		for _, obj := range cache {
			if _, ok := obj.(*cachedNode); ok {
				nodeH.OnAdd(obj, true)
			} else {
				podH.OnAdd(obj, true)
			}
		}
		stateBytes := heapInUse() - base - cacheBytes
		b.ReportMetric(float64(stateBytes)/(1<<20), "MiB-state")
		b.ReportMetric(float64(cacheBytes)/(1<<20), "MiB-cache")
		b.ReportMetric(float64(stateBytes+cacheBytes)/(1<<20), "MiB-total")
		if s := state.Sizes(); s.BoundPods != nodes*podsPerNode || s.Cards != nodes*8 {
			b.Fatalf("sizes %+v", s)
		}
		runtime.KeepAlive(cache)
		runtime.KeepAlive(state)
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
