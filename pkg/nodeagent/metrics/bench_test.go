package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/fakegpu"
)

// BenchmarkDCGMScrape is one scrape of an 8-card node's DCGM series.
func BenchmarkDCGMScrape(b *testing.B) {
	cards, err := fakegpu.ParseSpec("8xV100@30%")
	if err != nil {
		b.Fatal(err)
	}
	lib, err := fakegpu.New(cards, catalog.Default(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewDCGMCollector(discovery.NewDiscoverer(lib), "bench", nil, nil))
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
