//go:build e2e && unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/clock"
	"sigs.k8s.io/yaml"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/internal/wiretest"
	"github.com/gpuplane/gpuplane/pkg/load"
)

// adapterReadyLimit bounds the wait for Prometheus to start and scrape the exporter
// once; a 2-core machine under load needs seconds, not minutes.
const adapterReadyLimit = 90 * time.Second

// adapterCard is one card's series as dcgm-exporter publishes it with its Kubernetes
// mapping on: the card's identity, and the pod using it (empty when none does).
type adapterCard struct {
	gpu, uuid, host       string
	namespace, pod, cname string
	util, fbUsedMiB       float64
}

// adapterCards: pod ml/train-0 holds two cards on node-a; ml/other and a same-named pod
// in another namespace hold one each; one card is idle. Only train-0's cards in ml may
// count for it.
var adapterCards = []adapterCard{
	{gpu: "0", uuid: "GPU-0b1c6a52-7d2e-4b51-9d43-1f0e6c2a9a01", host: "node-a", namespace: "ml", pod: "train-0", cname: "trainer", util: 40, fbUsedMiB: 30000},
	{gpu: "1", uuid: "GPU-0b1c6a52-7d2e-4b51-9d43-1f0e6c2a9a02", host: "node-a", namespace: "ml", pod: "train-0", cname: "trainer", util: 60, fbUsedMiB: 50000},
	{gpu: "2", uuid: "GPU-0b1c6a52-7d2e-4b51-9d43-1f0e6c2a9a03", host: "node-a", namespace: "ml", pod: "other", cname: "worker", util: 10, fbUsedMiB: 2000},
	{gpu: "3", uuid: "GPU-0b1c6a52-7d2e-4b51-9d43-1f0e6c2a9a04", host: "node-a", util: 0, fbUsedMiB: 0},
	{gpu: "0", uuid: "GPU-7f3e9d10-2c4a-4e8b-8a6d-5b2c1e0f7d01", host: "node-b", namespace: "research", pod: "train-0", cname: "trainer", util: 90, fbUsedMiB: 70000},
}

// adapterWant is, per metric the rules serve, what the rule must compute for ml/train-0
// from adapterCards. A rule without an entry fails the test, so a new rule comes with
// its expectation.
var adapterWant = map[string]float64{
	"gpu_utilization":     (40 + 60) / 2.0, // mean over the pod's cards
	"gpu_memory_used_mib": 30000 + 50000,   // sum over the pod's cards
}

// adapterRule is the part of a prometheus-adapter rule the test evaluates.
type adapterRule struct {
	SeriesQuery string `json:"seriesQuery"`
	Resources   struct {
		Overrides map[string]struct {
			Resource string `json:"resource"`
		} `json:"overrides"`
	} `json:"resources"`
	Name struct {
		Matches string `json:"matches"`
		As      string `json:"as"`
	} `json:"name"`
	MetricsQuery string `json:"metricsQuery"`
}

// TestAdapterRulesOnPrometheus evaluates each prometheus-adapter rule of
// deploy/addons/prometheus-adapter, expanded for one pod as the adapter expands it, on a
// real Prometheus that scrapes dcgm-exporter-shaped series, and checks the pod's value.
func TestAdapterRulesOnPrometheus(t *testing.T) {
	bin := adapterPrometheus(t)
	rules := adapterRules(t, repoRoot(t))

	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(adapterExposition(adapterCards)))
	}))
	t.Cleanup(exporter.Close)

	addr := adapterServePrometheus(t, bin, strings.TrimPrefix(exporter.URL, "http://"))
	client, err := promapi.NewClient(promapi.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)
	adapterWaitScraped(t, api, len(adapterCards)*2)

	for _, rule := range rules {
		t.Run(rule.Name.As, func(t *testing.T) {
			want, ok := adapterWant[rule.Name.As]
			if !ok {
				t.Fatalf("rule for %q has no expected value in the test; add one to adapterWant", rule.Name.As)
			}
			query, err := adapterExpand(rule, "ml", "train-0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			val, warnings, _, err := api.Query(ctx, query, time.Now())
			if err != nil {
				t.Fatalf("evaluating %s: %v", query, err)
			}
			if len(warnings) > 0 {
				t.Errorf("evaluating %s: warnings %v", query, warnings)
			}
			vec, ok := val.(model.Vector)
			if !ok {
				t.Fatalf("evaluating %s: got a %s, want a vector", query, val.Type())
			}
			t.Logf("%s = %s", query, vec)
			if len(vec) != 1 {
				t.Fatalf("evaluating %s: got %d samples (%s), want one for pod train-0", query, len(vec), vec)
			}
			got := vec[0]
			wantLabels := model.Metric{"pod": "train-0"}
			if !got.Metric.Equal(wantLabels) {
				t.Errorf("evaluating %s: sample labelled %s, want %s", query, got.Metric, wantLabels)
			}
			if v := float64(got.Value); math.Abs(v-want) > 1e-9 {
				t.Errorf("evaluating %s: value %v, want %v", query, v, want)
			}
		})
	}
}

// adapterPrometheus returns the path of the Prometheus program in the bin directory.
func adapterPrometheus(t *testing.T) string {
	t.Helper()
	return binProgram(t, "prometheus", "make prometheus")
}

// adapterRules reads the rules from the ConfigMap that the prometheus-adapter
// kustomization generates: the file it names as the adapter's config.yaml.
func adapterRules(t *testing.T, root string) []adapterRule {
	t.Helper()
	dir := filepath.Join(root, "deploy", "addons", "prometheus-adapter")
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kust struct {
		ConfigMapGenerator []struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(raw, &kust); err != nil {
		t.Fatalf("reading %s: %v", filepath.Join(dir, "kustomization.yaml"), err)
	}
	var source string
	for _, g := range kust.ConfigMapGenerator {
		for _, f := range g.Files {
			if key, file, ok := strings.Cut(f, "="); ok && key == "config.yaml" {
				source = file
			}
		}
	}
	if source == "" {
		t.Fatalf("%s generates no ConfigMap with a config.yaml key for the adapter", dir)
	}
	raw, err = os.ReadFile(filepath.Join(dir, source))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Rules []adapterRule `json:"rules"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("reading the adapter rules in %s: %v", source, err)
	}
	if len(cfg.Rules) == 0 {
		t.Fatalf("%s holds no adapter rules", source)
	}
	return cfg.Rules
}

// adapterSeriesName matches the metric name a series query starts with.
var adapterSeriesName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)

// adapterExpand fills a rule's metricsQuery for one pod as prometheus-adapter does for
// a pod's metric: Series is the discovered series name, LabelMatchers select the
// namespace and the pod through the labels the rule maps to those resources, and the
// result is grouped by the pod label.
func adapterExpand(rule adapterRule, namespace, pod string) (string, error) {
	series := adapterSeriesName.FindString(strings.TrimSpace(rule.SeriesQuery))
	if series == "" {
		return "", fmt.Errorf("seriesQuery %q does not start with a metric name", rule.SeriesQuery)
	}
	if ok, err := regexp.MatchString(rule.Name.Matches, series); err != nil || !ok {
		return "", fmt.Errorf("name.matches %q does not match series %q (err %v)", rule.Name.Matches, series, err)
	}
	labelFor := map[string]string{}
	for label, o := range rule.Resources.Overrides {
		labelFor[o.Resource] = label
	}
	nsLabel, podLabel := labelFor["namespace"], labelFor["pod"]
	if nsLabel == "" || podLabel == "" {
		return "", fmt.Errorf("rule for %q maps no label to the namespace or pod resource: %v", series, rule.Resources.Overrides)
	}
	tmpl, err := template.New(rule.Name.As).Delims("<<", ">>").Option("missingkey=error").Parse(rule.MetricsQuery)
	if err != nil {
		return "", fmt.Errorf("parsing metricsQuery %q: %w", rule.MetricsQuery, err)
	}
	var b strings.Builder
	err = tmpl.Execute(&b, struct {
		Series        string
		LabelMatchers string
		GroupBy       string
		GroupBySlice  []string
	}{
		Series:        series,
		LabelMatchers: fmt.Sprintf("%s=%q,%s=%q", nsLabel, namespace, podLabel, pod),
		GroupBy:       podLabel,
		GroupBySlice:  []string{podLabel},
	})
	if err != nil {
		return "", fmt.Errorf("expanding metricsQuery %q: %w", rule.MetricsQuery, err)
	}
	return b.String(), nil
}

// adapterExposition renders the cards as dcgm-exporter's /metrics does: one series per
// card and field, labelled with the card and, when a pod uses it, the pod.
func adapterExposition(cards []adapterCard) string {
	var b strings.Builder
	fields := []struct {
		name, help string
		value      func(adapterCard) float64
	}{
		{"DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", func(c adapterCard) float64 { return c.util }},
		{"DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", func(c adapterCard) float64 { return c.fbUsedMiB }},
	}
	for _, f := range fields {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for i, c := range cards {
			fmt.Fprintf(&b, `%s{gpu=%q,UUID=%q,pci_bus_id="00000000:%02X:00.0",device="nvidia%s",modelName="NVIDIA A100-SXM4-80GB",Hostname=%q,DCGM_FI_DRIVER_VERSION="550.90.07",container=%q,namespace=%q,pod=%q} %g`+"\n",
				f.name, c.gpu, c.uuid, 0x10+i, c.gpu, c.host, c.cname, c.namespace, c.pod, f.value(c))
		}
	}
	return b.String()
}

// adapterPrometheusConfig writes into dir a Prometheus configuration scraping the
// exporter every second and returns its path.
func adapterPrometheusConfig(t *testing.T, dir, exporter string) string {
	t.Helper()
	// The target labels stand in for what service discovery attaches to the exporter's
	// own pod; honor_labels keeps the exporter's pod and namespace, as the
	// ServiceMonitor's honorLabels does, else they would arrive as exported_pod.
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dcgm-exporter
    honor_labels: true
    static_configs:
      - targets: [%q]
        labels:
          namespace: gpu-monitoring
          pod: dcgm-exporter-7xk2p
`, exporter)
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return configPath
}

// adapterServePrometheus runs Prometheus on a port of 127.0.0.1 the kernel picks,
// scraping the exporter every second, reads the address it bound from its log (its
// web server logs "Listening on" with the listener's address), waits until it is
// ready and returns the address; it stops it, with anything it started, when the
// test ends.
func adapterServePrometheus(t *testing.T, bin, exporter string) string {
	t.Helper()
	dir := t.TempDir()
	exited, logPath := adapterRunPrometheus(t, bin, filepath.Join(dir, "run"), adapterPrometheusConfig(t, dir, exporter), "127.0.0.1:0")
	addr, err := wiretest.LoggedAddr(logPath, 0, "Listening on", exited, adapterReadyLimit)
	if err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	if err := adapterWaitReady(addr, exited); err != nil {
		t.Fatalf("prometheus on %s: %v", addr, err)
	}
	return addr
}

// adapterRunPrometheus starts Prometheus on addr with its data and log in dir, and
// kills it when the test ends; exited closes when it has ended.
func adapterRunPrometheus(t *testing.T, bin, dir, configPath, addr string) (exited <-chan struct{}, logPath string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath = filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so that the cleanup ends everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("prometheus log (last 4000 bytes):\n%s", tail(b, 4000))
			}
		}
	})
	return done, logPath
}

// adapterWaitReady waits until Prometheus on addr says it is ready, or it exits.
func adapterWaitReady(addr string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, adapterReadyLimit, true, func(context.Context) (bool, error) {
		select {
		case <-exited:
			return false, errors.New("prometheus exited")
		default:
		}
		resp, err := client.Get("http://" + addr + "/-/ready")
		if last = err; err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("not ready within %s (%w; last answer: %v)", adapterReadyLimit, err, last)
	}
	return nil
}

// adapterWaitScraped waits until Prometheus holds every series the exporter serves.
func adapterWaitScraped(t *testing.T, api promv1.API, series int) {
	t.Helper()
	const query = `count({__name__=~"DCGM_FI_DEV_.*"})`
	var last error
	if err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, adapterReadyLimit, true, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		val, _, _, err := api.Query(ctx, query, time.Now())
		if err == nil {
			vec, _ := val.(model.Vector)
			if len(vec) == 1 && int(vec[0].Value) == series {
				return true, nil
			}
			err = fmt.Errorf("%s = %v, want %d", query, val, series)
		}
		last = err
		return false, nil
	}); err != nil {
		t.Fatalf("prometheus did not scrape the exporter within %s (%v): %v", adapterReadyLimit, err, last)
	}
}

// TestLoadQueryOnPrometheus runs the extender's load queries (pkg/load, with the
// extender's default configuration) on a real Prometheus scraping dcgm-exporter-shaped
// series, and checks the load the extender reads back for every card: averaged over
// the window, as an instant value, and with labels configured away from the defaults.
// The fake Prometheus of the unit tests answers by metric name and never evaluates a
// query; this test does.
func TestLoadQueryOnPrometheus(t *testing.T) {
	bin := adapterPrometheus(t)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(adapterExposition(adapterCards)))
	}))
	t.Cleanup(exporter.Close)
	url := "http://" + adapterServePrometheus(t, bin, strings.TrimPrefix(exporter.URL, "http://"))
	client, err := promapi.NewClient(promapi.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	adapterWaitScraped(t, promv1.NewAPI(client), len(adapterCards)*2)

	pciID := func(i int) string { return fmt.Sprintf("00000000:%02X:00.0", 0x10+i) } // as adapterExposition writes it
	type lookup struct {
		node  string
		index int
		uuid  string
	}
	cases := []struct {
		name string
		cfg  func(*load.Config)
		// cards says under which node, index and UUID the extender finds card i.
		cards func(i int, c adapterCard) lookup
		nodes int
	}{
		{
			name: "default window", cfg: func(*load.Config) {}, nodes: 2,
			cards: func(_ int, c adapterCard) lookup { return lookup{c.host, adapterIndex(t, c), c.uuid} },
		},
		{
			name: "instant", cfg: func(c *load.Config) { c.Window = 0 }, nodes: 2,
			cards: func(_ int, c adapterCard) lookup { return lookup{c.host, adapterIndex(t, c), ""} },
		},
		{
			// Every card under the exporter's instance, told apart by its PCI bus id.
			name: "configured labels", nodes: 1,
			cfg: func(c *load.Config) { c.NodeLabel, c.UUIDLabel = "instance", "pci_bus_id" },
			cards: func(i int, _ adapterCard) lookup {
				return lookup{strings.TrimPrefix(exporter.URL, "http://"), -1, pciID(i)}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := extender.DefaultOptions().Load
			cfg.URL = url
			tc.cfg(&cfg)
			querier, err := load.NewQuerier(cfg.URL)
			if err != nil {
				t.Fatal(err)
			}
			src, err := load.NewSource(cfg, querier, clock.RealClock{}, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			_, ctx := ktesting.NewTestContext(t)
			if err := src.Refresh(ctx); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			snap, ok := src.Current()
			if !ok {
				t.Fatal("no fresh load after a successful refresh")
			}
			if snap.Cards() != len(adapterCards) || snap.Nodes() != tc.nodes {
				t.Errorf("%d cards on %d nodes, want %d on %d", snap.Cards(), snap.Nodes(), len(adapterCards), tc.nodes)
			}
			for i, c := range adapterCards {
				at := tc.cards(i, c)
				n, _ := snap.Node(at.node)
				got, found := n.Card(at.index, at.uuid)
				want := load.CardLoad{Util: c.util, HasUtil: true, MemoryUsedMiB: c.fbUsedMiB, HasMemory: true}
				if !found || got != want {
					t.Errorf("card %s of %s (%+v): %+v, found %v; want %+v", c.gpu, c.host, at, got, found, want)
				}
			}
		})
	}
}

// adapterIndex is the card's index, from its gpu label.
func adapterIndex(t *testing.T, c adapterCard) int {
	t.Helper()
	i, err := strconv.Atoi(c.gpu)
	if err != nil {
		t.Fatal(err)
	}
	return i
}
