package webhook

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

func TestMetricsCountResults(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m := newTestMutator(t, Options{}, metrics)
	for _, pod := range []*corev1.Pod{
		makePod().obj(),
		makePod().withGPU("1").obj(),
		makePod().withGPU("2").obj(),
		makePod().withGPU("2(V100").obj(),
		makePod().withGPU("1").withAnnotation(api.AnnotationRole, "chef").obj(),
	} {
		handle(t, m, podRequest(t, pod))
	}
	handle(t, m, rawPodRequest([]byte("{")))
	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{metrics.requests.WithLabelValues(PathMutatePod, ResultAllowed), 1},
		{metrics.requests.WithLabelValues(PathMutatePod, ResultPatched), 2},
		{metrics.requests.WithLabelValues(PathMutatePod, ResultDenied), 2},
		{metrics.requests.WithLabelValues(PathMutatePod, ResultErrored), 1},
		{metrics.refusals.WithLabelValues(PathMutatePod, "syntax"), 1},
		{metrics.refusals.WithLabelValues(PathMutatePod, "role"), 1},
		{metrics.refusals.WithLabelValues(PathMutatePod, "decode"), 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			desc := make(chan *prometheus.Desc, 1)
			c.c.Describe(desc)
			t.Errorf("%v = %v, want %v", <-desc, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(metrics.latency); n != 1 {
		t.Errorf("latency series = %d, want 1", n)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering the metrics twice did not fail")
	}
}
