package perf

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
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// noPods is the extender's pod getter for calls that never bind.
type noPods struct{}

func (noPods) Pod(context.Context, string, string) (*corev1.Pod, error) {
	return nil, fmt.Errorf("no pods here")
}

// BenchmarkFilterBestFleet is the scale run's filter-best (`perf extender`)
// in one process: the same fleet (40,000 running pods; V100, A100, T4 and
// H100 nodes of 8 cards, every fifth a vGPU node), the same pods in turn
// (1, 2(V100|A100), 4, 0.5, each a new pod that auto's mix learns from),
// every node a candidate, through the HTTP handler. What it leaves out is
// the connection and the informers; what it reports is the extender's own
// CPU and latency per pod.
func BenchmarkFilterBestFleet(b *testing.B) {
	for _, nodes := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			h, names := fleetExtender(b, nodes)
			pods, err := queryPods(2000)
			if err != nil {
				b.Fatal(err)
			}
			bodies := make([][]byte, len(pods))
			for i, p := range pods {
				if bodies[i], err = json.Marshal(extenderv1.ExtenderArgs{Pod: p, NodeNames: &names}); err != nil {
					b.Fatal(err)
				}
			}
			var w extendertest.AnswerSink
			i := 0
			extendertest.TimePerPod(b, func() {
				w.Reset()
				h.ServeHTTP(&w, httptest.NewRequest(http.MethodPost, "/filter-best", bytes.NewReader(bodies[i%len(bodies)])))
				if w.Code != http.StatusOK {
					b.Fatalf("filter-best: %d %s", w.Code, w.Body)
				}
				i++
			})
		})
	}
}

// fleetExtender is an extender holding a fleet of n nodes and 40,000
// running pods, its mix learnt from them as its informers would.
func fleetExtender(b *testing.B, n int) (http.Handler, []string) {
	b.Helper()
	f, err := BuildFleet(FleetOptions{Nodes: n, Pods: 40000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	voc := request.VocabularyFrom(catalog.Default())
	policy, learner, err := extender.NewPolicy(placement.PolicyAuto)
	if err != nil {
		b.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Now())
	sightings := cache.NewSightings(learner.Observe, clk)
	state := cache.NewState(voc, clk, time.Minute, klog.Background())
	names := make([]string, len(f.Nodes))
	for i, node := range f.Nodes {
		state.SetNode(node)
		names[i] = node.Name
	}
	for _, p := range f.Pods {
		state.SetPod(p)
		sightings.ObservePod(p, voc)
	}
	metrics, err := extender.NewMetrics(prometheus.NewRegistry(), state)
	if err != nil {
		b.Fatal(err)
	}
	ext, err := extender.New(extender.Config{State: state, Vocabulary: voc, Policy: policy, Client: fake.NewClientset(),
		Pods: noPods{}, Metrics: metrics, Sightings: sightings})
	if err != nil {
		b.Fatal(err)
	}
	return ext.Handler(extender.HandlerOptions{}), names
}
