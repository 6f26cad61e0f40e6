package perf

import (
	"strings"
	"testing"
)

// The parsers of other programs' output never panic, whatever they read.

func FuzzParseBenchOutput(f *testing.F) {
	f.Add(benchOutput)
	f.Add("BenchmarkX-2 10 5 ns/op\n")
	f.Add("pkg: a\nBenchmark-\t1\t1 x/op 2 y/op\n")
	f.Fuzz(func(t *testing.T, s string) {
		res, _, err := ParseBenchOutput(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range res {
			if !strings.HasPrefix(r.Name, "Benchmark") {
				t.Fatalf("result %+v is not a benchmark", r)
			}
		}
		_ = BenchFigures(res, "github.com/gpuplane/gpuplane/")
	})
}

func FuzzParseMetrics(f *testing.F) {
	f.Add(apiMetrics)
	f.Add(schedulerMetrics)
	f.Add(`a{b="\"",c="x\\"} 1`)
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseAPICounts(strings.NewReader(s)); err != nil {
			return
		}
		_, _ = parseSchedulerTimes(strings.NewReader(s), "p")
		for _, line := range strings.Split(s, "\n") {
			_, _, _, _ = parseSample(line)
		}
	})
}

func FuzzParseProc(f *testing.F) {
	f.Add("42 (extender) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1 1 1")
	f.Add("Name:\tx\nVmHWM:\t1 kB\nVmRSS:\t1 kB\n")
	f.Add(")")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseProcessCPU([]byte(s)); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v from %q", d, s)
		}
		_, _ = parseProcessMemory([]byte(s))
	})
}
