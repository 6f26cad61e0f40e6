package perf

import (
	"strings"
	"testing"
)

const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/gpuplane/gpuplane/pkg/webhook
cpu: AMD EPYC
BenchmarkPodMutator-2   	    9596	    142360 ns/op	     66251 cpu-ns/op	   17189 B/op	     185 allocs/op
BenchmarkServeHTTP-2    	    4893	    396841 ns/op	   36867 B/op	     270 allocs/op
BenchmarkPodMutator-2   	    9000	    140000 ns/op	     60000 cpu-ns/op	   17189 B/op	     185 allocs/op
PASS
ok  	github.com/gpuplane/gpuplane/pkg/webhook	3.405s
pkg: github.com/gpuplane/gpuplane/pkg/gpuspec
BenchmarkParse/short-2 	 1000000	      1003 ns/op
Benchmark garbage line
FAIL	github.com/gpuplane/gpuplane/pkg/extender [build failed]
`

func TestParseBenchOutput(t *testing.T) {
	res, failed, err := ParseBenchOutput(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("parsed %d results, want 4: %+v", len(res), res)
	}
	if res[0].Name != "BenchmarkPodMutator" || res[0].Package != "github.com/gpuplane/gpuplane/pkg/webhook" ||
		res[0].Metrics["ns/op"] != 142360 || res[0].Metrics["allocs/op"] != 185 || res[0].Metrics["cpu-ns/op"] != 66251 {
		t.Errorf("first result %+v", res[0])
	}
	if res[3].Name != "BenchmarkParse/short" || res[3].Package != "github.com/gpuplane/gpuplane/pkg/gpuspec" {
		t.Errorf("sub-benchmark %+v", res[3])
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "pkg/extender") {
		t.Errorf("failed = %q, want the extender's build failure", failed)
	}
}

func TestBenchFigures(t *testing.T) {
	res, _, err := ParseBenchOutput(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	figs := BenchFigures(res, "github.com/gpuplane/gpuplane/")
	var mutNs *Figure
	for i := range figs {
		if figs[i].Name == "BenchmarkPodMutator" && figs[i].Unit == "ns/op" {
			mutNs = &figs[i]
		}
	}
	if mutNs == nil {
		t.Fatalf("no ns/op figure of BenchmarkPodMutator in %+v", figs)
	}
	if mutNs.Group != "pkg/webhook" || len(mutNs.Values) != 2 || mutNs.Min != 140000 || mutNs.Max != 142360 || mutNs.Median != 141180 {
		t.Errorf("BenchmarkPodMutator ns/op = %+v", *mutNs)
	}
	if figs[0].Unit != "ns/op" || figs[1].Unit != "B/op" || figs[2].Unit != "allocs/op" {
		t.Errorf("units not in the usual order first: %s %s %s", figs[0].Unit, figs[1].Unit, figs[2].Unit)
	}
}
