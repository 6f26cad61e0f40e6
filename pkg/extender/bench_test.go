package extender

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func benchExtender(b testing.TB, nodes, podsPerNode int, policy string) (*Extender, []string) {
	b.Helper()
	state := cache.NewState(testVoc, extendertest.Clock(), time.Minute, klog.Background())
	ns, ps := extendertest.Cluster(nodes, podsPerNode)
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
			req, err := request.Of(pod, testVoc)
			if err != nil {
				b.Fatal(err)
			}
			for i := range req.Parts {
				if req.Parts[i].Req.Cards > 0 {
					learner.Observe(&req.Parts[i].Req)
				}
			}
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

// BenchmarkFilterPrioritize is one pod's filter and prioritize calls over
// every node (node names only, as with nodeCacheCapable), in-process: what
// the extender does per scheduling cycle, without the HTTP transport.
func BenchmarkFilterPrioritize(b *testing.B) {
	pods := map[string]*corev1.Pod{
		"whole":   extendertest.MakePod("p").GPUs(2).Types("V100").Obj(),
		"share":   extendertest.MakePod("p").VGPU(0, 50, 32).Types("T4").Obj(),
		"anycard": extendertest.MakePod("p").GPUs(1).Obj(),
	}
	for _, nodes := range []int{1000, 5000, 10000} {
		for _, policy := range []string{placement.PolicyAuto, placement.PolicyBinpack} {
			for _, kind := range []string{"whole", "share", "anycard"} {
				b.Run(fmt.Sprintf("nodes=%d/policy=%s/pod=%s", nodes, policy, kind), func(b *testing.B) {
					ext, names := benchExtender(b, nodes, 8, policy)
					ctx := context.Background()
					pod := pods[kind]
					extendertest.TimePerPod(b, func() {
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

// BenchmarkFilterBestLoopback is BenchmarkFilterBestHTTP through a real
// server and client on 127.0.0.1: the connection, the server's request
// parsing and buffered writes, and the client reading the whole answer,
// as kube-scheduler's call pays them on the same machine.
func BenchmarkFilterBestLoopback(b *testing.B) {
	benchLoopback(b, benchPod())
}

// BenchmarkFilterBestNowhereLoopback is BenchmarkFilterBestLoopback for a
// pod that fits no node (9 cards on nodes of 8): filter-best then answers
// every node's reason, the largest answer it writes.
func BenchmarkFilterBestNowhereLoopback(b *testing.B) {
	benchLoopback(b, extendertest.MakePod("p").GPUs(9).Obj())
}

// benchLoopback runs pod's /filter-best over every node through a server
// and client on 127.0.0.1 at each cluster size.
func benchLoopback(b *testing.B, pod *corev1.Pod) {
	for _, nodes := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			ext, names := benchExtender(b, nodes, 8, placement.PolicyAuto)
			srv := httptest.NewServer(ext.Handler(HandlerOptions{}))
			defer srv.Close()
			client := srv.Client()
			args, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
			if err != nil {
				b.Fatal(err)
			}
			var answer bytes.Buffer
			extendertest.TimePerPod(b, func() {
				resp, err := client.Post(srv.URL+"/filter-best", "application/json", bytes.NewReader(args))
				if err != nil {
					b.Fatal(err)
				}
				answer.Reset()
				_, err = answer.ReadFrom(resp.Body)
				_ = resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("filter-best: %v %d %s", err, resp.StatusCode, answer.Bytes())
				}
			})
		})
	}
}

// benchPod is the pod of the HTTP benchmarks: a vGPU T4 share.
func benchPod() *corev1.Pod { return extendertest.MakePod("p").VGPU(0, 50, 32).Types("T4").Obj() }

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
			args, err := json.Marshal(extenderv1.ExtenderArgs{Pod: benchPod(), NodeNames: &names})
			if err != nil {
				b.Fatal(err)
			}
			var w extendertest.AnswerSink
			post := func(path string, body []byte) []byte {
				w.Reset()
				h.ServeHTTP(&w, httptest.NewRequest("POST", path, bytes.NewReader(body)))
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
				return w.Body
			}
			extendertest.TimePerPod(b, schedule(b, post, args))
		})
	}
}
