package cache

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/placement"
	"k8s.io/klog/v2"
)

// BenchmarkStateMemory measures the heap the extender holds for 5,000 nodes
// of 8 cards and 40,000 bound pods: its own state, and the state together
// with the informer cache (the summaries of nodes and bound pods the
// informers keep, cards and records included, as the transforms build them).
func BenchmarkStateMemory(b *testing.B) {
	const nodes, podsPerNode = 5000, 8
	for b.Loop() {
		base := heapInUse()
		ns, ps := extendertest.Cluster(nodes, podsPerNode)
		state := NewState(testVoc, extendertest.Clock(), time.Minute, klog.Background())
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
		nodeH, podH := nodeHandlers(state), podHandlers(state, NewSightings(func(*placement.Request) {}, extendertest.Clock()))
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

// BenchmarkResolve reads and looks up every node's name of 5,000 nodes of
// 8 cards with 40,000 bound pods, in an order of their own (kube-scheduler
// sends the candidates in the order its parallel filters finish), as
// filter does for each call: ns/op is one call's lookups.
func BenchmarkResolve(b *testing.B) {
	const nodes, podsPerNode = 5000, 8
	ns, ps := extendertest.Cluster(nodes, podsPerNode)
	state := NewState(testVoc, extendertest.Clock(), time.Minute, klog.Background())
	for _, n := range ns {
		state.SetNode(n)
	}
	for _, p := range ps {
		state.SetPod(p)
	}
	raw := make([][]byte, nodes)
	for i, j := range rand.New(rand.NewPCG(1, 2)).Perm(nodes) {
		raw[i] = []byte(ns[j].Name)
	}
	pending := func(i int) []byte { return raw[i] }
	names := make([]string, nodes)
	out := make([]*NodeSnapshot, nodes)
	for b.Loop() {
		state.Resolve(names, pending, out)
	}
	for i, s := range out {
		if s == nil || s.Node().Name != string(raw[i]) {
			b.Fatalf("name %q resolved to %v", raw[i], s)
		}
	}
}
