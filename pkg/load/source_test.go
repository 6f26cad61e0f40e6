package load

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/pkg/load/loadtest"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	prom  *loadtest.Server
	clock *clocktesting.FakeClock
	reg   *prometheus.Registry
	src   *Source
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	prom := loadtest.Start()
	t.Cleanup(prom.Close)
	if cfg.URL == "" {
		cfg.URL = prom.URL
	}
	api, err := NewQuerier(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(epoch)
	reg := prometheus.NewRegistry()
	src, err := NewSource(cfg, api, clk, reg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{prom: prom, clock: clk, reg: reg, src: src}
}

func card(node, index, uuid string, v float64) loadtest.Sample {
	l := map[string]string{"__name__": "x"}
	if node != "" {
		l["Hostname"] = node
	}
	if index != "" {
		l["gpu"] = index
	}
	if uuid != "" {
		l["UUID"] = uuid
	}
	return loadtest.Sample{Labels: l, Value: v}
}

func TestRefreshReadsUtilisationAndMemory(t *testing.T) {
	f := newFixture(t, Config{Window: DefaultWindow})
	f.prom.Set(DefaultUtilMetric,
		card("node-1", "0", "GPU-a", 90), card("node-1", "1", "GPU-b", 5),
		card("node-2", "0", "", 140), // clamped to 100
		card("", "0", "GPU-x", 50),   // no node: ignored
		card("node-3", "x", "", 50),  // no usable index nor uuid: ignored
	)
	f.prom.Set(DefaultMemoryMetric, card("node-1", "0", "GPU-a", 30000), card("node-1", "1", "GPU-b", 100))
	ctx := testContext(t)
	if err := f.src.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	snap, ok := f.src.Current()
	if !ok {
		t.Fatal("Current: no fresh data after a successful refresh")
	}
	cases := []struct {
		name       string
		node, uuid string
		index      int
		want       CardLoad
		found      bool
	}{
		{name: "by uuid", node: "node-1", uuid: "GPU-b", index: 7, want: CardLoad{Util: 5, HasUtil: true, MemoryUsedMiB: 100, HasMemory: true}, found: true},
		{name: "by index", node: "node-1", index: 0, want: CardLoad{Util: 90, HasUtil: true, MemoryUsedMiB: 30000, HasMemory: true}, found: true},
		{name: "clamped, no memory", node: "node-2", index: 0, want: CardLoad{Util: 100, HasUtil: true}, found: true},
		{name: "unknown card", node: "node-2", index: 3},
		{name: "unknown node", node: "node-9", index: 0},
		{name: "bad index label ignored", node: "node-3", index: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := snap.Node(tc.node)
			got, found := n.Card(tc.index, tc.uuid)
			if found != tc.found || got != tc.want {
				t.Fatalf("Card(%d, %q) on %s = %+v, %v; want %+v, %v", tc.index, tc.uuid, tc.node, got, found, tc.want, tc.found)
			}
		})
	}
	if got := value(t, f.src.metrics.samplesIgnored); got != 2 {
		t.Errorf("samples ignored = %v, want 2", got)
	}
	if got := value(t, f.src.metrics.stale); got != 0 {
		t.Errorf("stale gauge = %v, want 0", got)
	}
	if got := value(t, f.src.metrics.cards); got != 3 {
		t.Errorf("cards gauge = %v, want 3", got)
	}
	// What the queries select and compute is checked on a real Prometheus:
	// TestLoadQueryOnPrometheus in test/e2e.
	if qs := f.prom.Queries(); len(qs) != 2 {
		t.Errorf("queries = %q, want one per metric", qs)
	}
}

func TestConfiguredLabels(t *testing.T) {
	f := newFixture(t, Config{NodeLabel: "node", IndexLabel: "minor", UUIDLabel: "uuid"})
	f.prom.Set(DefaultUtilMetric, loadtest.Sample{Labels: map[string]string{"node": "n1", "minor": "2"}, Value: 42})
	if err := f.src.Refresh(testContext(t)); err != nil {
		t.Fatal(err)
	}
	snap, _ := f.src.Current()
	n, _ := snap.Node("n1")
	if got, ok := n.Card(2, ""); !ok || got.Util != 42 {
		t.Fatalf("card 2 of n1 = %+v, %v; want util 42", got, ok)
	}
}

func TestBadPrometheusNeverYieldsData(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*fixture)
	}{
		{name: "garbage body", setup: func(f *fixture) { f.prom.SetMode(loadtest.Garbage) }},
		{name: "503", setup: func(f *fixture) { f.prom.SetMode(loadtest.Failing) }},
		{name: "matrix instead of vector", setup: func(f *fixture) { f.prom.SetMode(loadtest.Matrix) }},
		{name: "down", setup: func(f *fixture) { f.prom.Close() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.prom.Set(DefaultUtilMetric, card("node-1", "0", "", 10))
			tc.setup(f)
			err := f.src.Refresh(testContext(t))
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("Refresh = %v, want ErrQuery", err)
			}
			if snap, ok := f.src.Current(); ok || snap != nil {
				t.Fatalf("Current = %v, %v after a failed refresh; want no data", snap, ok)
			}
			if got := value(t, f.src.metrics.stale); got != 1 {
				t.Errorf("stale gauge = %v, want 1", got)
			}
			if got := value(t, f.src.metrics.refreshFailed); got != 1 {
				t.Errorf("failed refreshes = %v, want 1", got)
			}
		})
	}
}

func TestDataGoesStaleAfterFailedIntervals(t *testing.T) {
	f := newFixture(t, Config{Interval: 10 * time.Second, StaleAfter: 2})
	f.prom.Set(DefaultUtilMetric, card("node-1", "0", "", 10))
	ctx := testContext(t)
	if err := f.src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f.prom.SetMode(loadtest.Failing)
	steps := []struct {
		after time.Duration
		fresh bool
	}{{10 * time.Second, true}, {10 * time.Second, true}, {time.Second, false}}
	for i, st := range steps {
		f.clock.Step(st.after)
		_ = f.src.Refresh(ctx)
		if _, ok := f.src.Current(); ok != st.fresh {
			t.Fatalf("step %d (%s after the last success): fresh = %v, want %v", i, f.clock.Since(epoch), ok, st.fresh)
		}
	}
	if got := value(t, f.src.metrics.stale); got != 1 {
		t.Errorf("stale gauge = %v, want 1", got)
	}
	if got := value(t, f.src.metrics.lookupsStale); got != 1 {
		t.Errorf("stale lookups = %v, want 1", got)
	}
	f.prom.SetMode(loadtest.Normal)
	if err := f.src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.src.Current(); !ok {
		t.Fatal("no fresh data after Prometheus recovered")
	}
}

func TestRunRefreshesEveryInterval(t *testing.T) {
	f := newFixture(t, Config{Interval: 30 * time.Second})
	f.prom.Set(DefaultUtilMetric, card("node-1", "0", "", 10))
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() { done <- f.src.Run(ctx) }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true,
			func(context.Context) (bool, error) { return cond(), nil }); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	for want := 2; want <= 6; want += 2 { // two queries per refresh
		waitFor("a refresh", func() bool { return len(f.prom.Queries()) == want })
		waitFor("the loop to wait on its ticker", f.clock.HasWaiters)
		f.clock.Step(30 * time.Second)
	}
	waitFor("the third refresh", func() bool { return len(f.prom.Queries()) == 8 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestNilSourceHasNoData(t *testing.T) {
	var s *Source
	if snap, ok := s.Current(); ok || snap != nil {
		t.Fatal("nil source returned data")
	}
	s.RecordMissing(3) // must not panic
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "defaults", cfg: Config{URL: "http://127.0.0.1:9090"}},
		{name: "no url", cfg: Config{}, want: "no Prometheus URL"},
		{name: "fast interval", cfg: Config{URL: "u", Interval: time.Millisecond}, want: "interval 1ms"},
		{name: "bad label", cfg: Config{URL: "u", NodeLabel: "host name"}, want: `node label "host name"`},
		{name: "injection", cfg: Config{URL: "u", UtilMetric: "x) or vector(1"}, want: "utilisation metric"},
		{name: "negative window", cfg: Config{URL: "u", Window: -time.Second}, want: "window -1s"},
		{name: "negative stale", cfg: Config{URL: "u", StaleAfter: -1}, want: "stale-after -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Default().Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig mentioning %q", err, tc.want)
			}
		})
	}
}

// value reads a gauge or counter.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	switch {
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	case out.Counter != nil:
		return out.Counter.GetValue()
	}
	t.Fatalf("%s is neither a gauge nor a counter", m.Desc())
	return 0
}

func testContext(t *testing.T) context.Context {
	_, ctx := ktesting.NewTestContext(t)
	return ctx
}

// TestPeek checks that Peek tells what Current tells, keeps a stale snapshot
// at hand, and counts no lookup.
func TestPeek(t *testing.T) {
	f := newFixture(t, Config{Interval: 10 * time.Second, StaleAfter: 1})
	if snap, fresh := f.src.Peek(); snap != nil || fresh {
		t.Fatalf("before any refresh Peek = %v, %v; want nil, false", snap, fresh)
	}
	f.prom.Set(DefaultUtilMetric, card("node-1", "0", "", 10))
	if err := f.src.Refresh(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if snap, fresh := f.src.Peek(); snap == nil || !fresh || snap.Cards() != 1 {
		t.Fatalf("after a refresh Peek = %v, %v; want the snapshot of 1 card, fresh", snap, fresh)
	}
	f.clock.Step(11 * time.Second)
	if snap, fresh := f.src.Peek(); snap == nil || fresh {
		t.Fatalf("after an interval without refresh Peek = %v, %v; want the snapshot, stale", snap, fresh)
	}
	if got := value(t, f.src.metrics.lookupsStale) + value(t, f.src.metrics.lookupsFresh); got != 0 {
		t.Errorf("Peek counted %v lookups, want 0", got)
	}
	var none *Source
	if snap, fresh := none.Peek(); snap != nil || fresh {
		t.Errorf("a nil source peeks %v, %v", snap, fresh)
	}
}
