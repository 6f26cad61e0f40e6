package sim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// traceDir finds the Alibaba trace: $GPUPLANE_TRACE_DIR, else
// <module root>/../shared/data/alibaba-gpu-v2023. It skips the test when the
// trace is absent.
func traceDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("GPUPLANE_TRACE_DIR")
	if dir == "" {
		root, err := os.Getwd()
		if err != nil {
			tb.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				tb.Skip("module root not found; set GPUPLANE_TRACE_DIR to the Alibaba GPU trace")
			}
			root = parent
		}
		dir = filepath.Join(root, "..", "shared", "data", "alibaba-gpu-v2023")
	}
	if _, err := os.Stat(filepath.Join(dir, "openb_node_list_gpu_node.csv")); err != nil {
		tb.Skipf("Alibaba GPU trace not found in %s (set GPUPLANE_TRACE_DIR): %v", dir, err)
	}
	return dir
}

func loadDefaultTrace(tb testing.TB) *Trace {
	dir := traceDir(tb)
	t, err := LoadTrace(filepath.Join(dir, "openb_node_list_gpu_node.csv"), filepath.Join(dir, "openb_pod_list_default.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// On the real trace, the default policy places more than the simplest one.
func TestRealTraceAutoBeatsBinpack(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the real trace")
	}
	tr := loadDefaultTrace(t)
	order := Arrivals(tr.Pods, tr.Capacity(), 42, 1.3)
	at100 := map[string]float64{}
	for _, p := range []placement.Policy{placement.Binpack(), placement.NewAuto(placement.AutoOptions{})} {
		res, err := Replay(tr.Nodes, tr.Pods, order, p, 42, TiesRandom)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Reached[1] {
			t.Fatalf("%s: arrivals never reached 100%% of capacity", p.Name())
		}
		at100[p.Name()] = res.At[1]
	}
	if at100["auto"] < at100["binpack"]+2 {
		t.Errorf("allocation at 100%% arrived: auto %.2f, binpack %.2f; want auto ahead by 2 points or more", at100["auto"], at100["binpack"])
	}
}

func BenchmarkReplayDefaultTrace(b *testing.B) {
	tr := loadDefaultTrace(b)
	order := Arrivals(tr.Pods, tr.Capacity(), 42, 1.3)
	for _, name := range []string{placement.PolicyBinpack, placement.PolicyFGD, placement.PolicyAuto} {
		b.Run(name, func(b *testing.B) {
			cfg := placement.Config{Workload: tr.TraceWorkload(0.95)}
			reg := placement.Builtin()
			for b.Loop() {
				p, err := reg.New(name, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Replay(tr.Nodes, tr.Pods, order, p, 42, TiesRandom); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
