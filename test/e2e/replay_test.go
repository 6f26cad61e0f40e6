//go:build e2e

package e2e

import (
	"io"
	"testing"
	"time"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
	"github.com/gpuplane/gpuplane/pkg/sim"
	"github.com/gpuplane/gpuplane/test/cluster"
	"github.com/gpuplane/gpuplane/test/perf"
)

// The small trace of TestReplayAgreesWithSimulate (testdata/replay/gen.go
// writes it) and the replay's seed.
const (
	replayNodes = "testdata/replay/nodes.csv"
	replayPods  = "testdata/replay/pods.csv"
	replaySeed  = 42
)

// TestReplayAgreesWithSimulate replays a small trace (32 nodes of the
// default trace's shapes, 257 pods in the arrival order of seed 42 at
// inflate 1.3) through the real path — the webhook registered with the
// shipped configuration, kube-scheduler with the shipped configuration and
// the extender with its defaults — one pod at a time, each bound or found
// unschedulable (and dropped) before the next, and checks that it places
// exactly the pods `extender simulate` places for the same seed, on the
// same nodes, so that the allocation figures are the same.
func TestReplayAgreesWithSimulate(t *testing.T) {
	began := time.Now()
	tr, err := sim.LoadTrace(replayNodes, replayPods)
	if err != nil {
		t.Fatal(err)
	}
	order := sim.Arrivals(tr.Pods, tr.Capacity(), replaySeed, 1.3)
	reg := placement.Builtin()
	so, err := sim.ParseFlags([]string{"--nodes", replayNodes, "--pods", replayPods, "--seed", "42"}, reg.Names(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	simulated, err := tr.ReplayOrder(so, reg, placement.PolicyAuto, replaySeed, order)
	if err != nil {
		t.Fatal(err)
	}

	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	cat := catalog.Default()
	for i := range tr.Nodes {
		spec, err := perf.TraceNodeSpec(&tr.Nodes[i], cat)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddGPUNode(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	ext := extStart(t, c, "127.0.0.1:0", extender.DefaultOptions())
	createNamespace(ctx, t, client, whNamespace)
	ns := createNamespace(ctx, t, client, "e2e-replay")
	whRegister(ctx, t, client, repoRoot(t), whNowhere(t))
	url, _ := whStartScheduler(t, c.KubeconfigPath(), extSchedulerName)
	whPoint(ctx, t, client, url)
	whWaitServing(ctx, t, client, ns)
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	t.Logf("control plane, webhook, extender and kube-scheduler ready in %s", time.Since(began).Round(time.Millisecond))

	start := time.Now()
	d := perf.TraceDriver{Client: client, Namespace: ns, PodTimeout: scheduleLimit, Logf: t.Logf}
	real, err := d.Run(ctx, tr, order, placement.PolicyAuto, replaySeed)
	if err != nil {
		t.Fatal(err)
	}
	g := perf.Compare(real, simulated)
	t.Logf("%d pods replayed in %s: %d placed through kube-scheduler, %d in simulate, %d on the same node",
		len(order), time.Since(start).Round(time.Millisecond), real.Placed, simulated.Placed, g.SameNode)
	if g.Pods != len(order) {
		t.Fatalf("compared %d pods, the order has %d", g.Pods, len(order))
	}
	if g.OnlyA > 0 || g.OnlyB > 0 {
		t.Errorf("%d pods placed only through kube-scheduler, %d only in simulate", g.OnlyA, g.OnlyB)
	}
	if g.SameNode != real.Placed {
		t.Errorf("%d of %d placed pods on the same node as in simulate; the first difference is pod %d of the order",
			g.SameNode, real.Placed, g.FirstDiff)
	}
	if g.FirstDiff >= 0 {
		k := order[g.FirstDiff]
		name := func(n int) string {
			if n < 0 {
				return "nowhere"
			}
			return tr.Nodes[n].Name
		}
		req, _ := perf.TraceRequest(&tr.Pods[k].Request)
		t.Errorf("pod %d of the order (%s, %q, %d CPU milli): %s through kube-scheduler, %s in simulate",
			g.FirstDiff, tr.Pods[k].Name, req, tr.Pods[k].Request.CPUMilli, name(real.Nodes[g.FirstDiff]), name(simulated.Nodes[g.FirstDiff]))
	}
	a := sim.Summarise(placement.PolicyAuto, []int64{replaySeed}, []sim.Result{real}).JSON()
	b := sim.Summarise(placement.PolicyAuto, []int64{replaySeed}, []sim.Result{simulated}).JSON()
	if a != b {
		t.Errorf("through kube-scheduler %s\n               simulate %s", a, b)
	} else {
		t.Logf("both %s", a)
	}
}
