package perf

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
	"github.com/gpuplane/gpuplane/pkg/sim"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// ReplayOptions say which trace to replay through the real path and how.
type ReplayOptions struct {
	// NodesFile and PodsFile are the trace's lists, as simulate reads them.
	NodesFile, PodsFile string
	// Seed and Inflate make the arrival order, as simulate's flags.
	Seed    int64
	Inflate float64
	// UntilArrived, when above 0, stops after the pods that complete the
	// account at that arrived % (sim.PrefixUntil); MaxPods, when above 0,
	// after that many pods.
	UntilArrived float64
	MaxPods      int
	// SimulateArgs are more flags of simulate for the comparison (such as
	// --ties random); the trace, seed, inflate and policy are given.
	SimulateArgs []string
	// SchedulerConfig is the shipped KubeSchedulerConfiguration; only its
	// extender's host:port is replaced. PercentageOfNodesToScore, when 0 or
	// more, also sets that field (an experiment, not the shipped file).
	SchedulerConfig          string
	PercentageOfNodesToScore int
	// MutatingWebhook is the shipped MutatingWebhookConfiguration; its
	// service reference is replaced by the local webhook's URL.
	MutatingWebhook string
	// Policy of the extender; empty: the extender's default.
	Policy string
	// BinDir holds etcd, kube-apiserver and kube-scheduler.
	BinDir string
	// GateFor is TraceDriver.GateFor: an experiment.
	GateFor time.Duration
	RunEnv
}

// ReplayOutcome is what a replay measured: the account through the real
// path, the simulator's for the same pods, and their agreement.
type ReplayOutcome struct {
	Real, Simulated sim.Result
	Policy          string
	Agreement       Agreement
}

const replayNamespace = "replay"

// RunReplay replays the trace through a local control plane: the trace's
// nodes as Node objects, the webhook registered with the shipped
// configuration, the extender (a separate process running extender.Run with
// the program's defaults) and kube-scheduler with the shipped configuration;
// then the pods of the arrival order one at a time (TraceDriver). The
// simulator replays the same pods for the comparison.
func RunReplay(ctx context.Context, o ReplayOptions) (ReplayOutcome, error) {
	var out ReplayOutcome
	if err := o.RunEnv.setDefaults("trace replay"); err != nil {
		return out, err
	}
	t, err := sim.LoadTrace(o.NodesFile, o.PodsFile)
	if err != nil {
		return out, err
	}
	order := sim.Arrivals(t.Pods, t.Capacity(), o.Seed, o.Inflate)
	if o.UntilArrived > 0 {
		order = sim.PrefixUntil(t.Pods, order, t.Capacity(), o.UntilArrived)
	}
	if o.MaxPods > 0 && len(order) > o.MaxPods {
		order = order[:o.MaxPods]
	}
	policy := o.Policy
	if policy == "" {
		policy = placement.PolicyAuto
	}
	out.Policy = policy
	reg := placement.Builtin()
	args := append([]string{"--nodes", o.NodesFile, "--pods", o.PodsFile, "--seed", strconv.FormatInt(o.Seed, 10),
		"--inflate", strconv.FormatFloat(o.Inflate, 'g', -1, 64), "--policy", policy}, o.SimulateArgs...)
	so, err := sim.ParseFlags(args, reg.Names(), io.Discard)
	if err != nil {
		return out, fmt.Errorf("simulate's flags %q: %w", strings.Join(o.SimulateArgs, " "), err)
	}
	if out.Simulated, err = t.ReplayOrder(so, reg, policy, o.Seed, order); err != nil {
		return out, err
	}
	o.Logf("replay: simulate placed %d of %d pods (%s)", out.Simulated.Placed, len(order), strings.Join(args, " "))

	c, err := cluster.Start(ctx, cluster.Options{BinDir: o.BinDir, StartTimeout: 3 * time.Minute})
	if err != nil {
		return out, err
	}
	defer func() {
		if err != nil {
			path := filepath.Join(o.LogDir, "replay-cluster-logs.txt")
			if werr := os.WriteFile(path, []byte(c.LogTails()), 0o644); werr == nil {
				o.Logf("replay: the end of every program's log is in %s", path)
			}
		}
		_ = c.Stop()
	}()
	client := c.Client()
	if _, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: replayNamespace}}, metav1.CreateOptions{}); err != nil {
		return out, err
	}
	if err = addTraceNodes(ctx, c, t.Nodes); err != nil {
		return out, err
	}
	o.Logf("replay: %d nodes added", len(t.Nodes))
	ext, extAddr, err := o.startExtender(ctx, c, policy)
	if err != nil {
		return out, err
	}
	defer ext.stop(10 * time.Second)
	raw, err := os.ReadFile(o.SchedulerConfig)
	if err != nil {
		return out, fmt.Errorf("reading the scheduler configuration: %w", err)
	}
	configs, err := MakeSchedulerConfigs(raw, extAddr, 0, 0)
	if err != nil {
		return out, fmt.Errorf("%s: %w", o.SchedulerConfig, err)
	}
	wh, err := o.startWebhook(ctx, client, configs.Profile)
	if err != nil {
		return out, err
	}
	defer wh.stop(10 * time.Second)
	config := configs.WithExtender
	if o.PercentageOfNodesToScore >= 0 {
		if config, err = withPercentage(config, o.PercentageOfNodesToScore); err != nil {
			return out, err
		}
	}
	if _, err = c.StartScheduler(ctx, cluster.SchedulerOptions{Config: config}); err != nil {
		return out, fmt.Errorf("starting kube-scheduler: %w", err)
	}
	o.Logf("replay: webhook, extender and kube-scheduler (profile %q) ready; %d pods to replay", configs.Profile, len(order))
	d := TraceDriver{Client: client, Namespace: replayNamespace, Logf: o.Logf, GateFor: o.GateFor}
	if out.Real, err = d.Run(ctx, t, order, policy, o.Seed); err != nil {
		return out, err
	}
	out.Agreement = Compare(out.Real, out.Simulated)
	return out, nil
}

// withPercentage sets percentageOfNodesToScore in a scheduler configuration.
func withPercentage(config []byte, pct int) ([]byte, error) {
	doc, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	doc["percentageOfNodesToScore"] = pct
	return yaml.Marshal(doc)
}

// addTraceNodes creates the trace's nodes, a few at a time.
func addTraceNodes(ctx context.Context, c *cluster.Cluster, nodes []placement.Node) error {
	cat := catalog.Default()
	specs := make([]cluster.NodeSpec, len(nodes))
	for i := range nodes {
		s, err := TraceNodeSpec(&nodes[i], cat)
		if err != nil {
			return err
		}
		specs[i] = s
	}
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				_, errs[i] = c.AddGPUNode(ctx, specs[i])
			}
		})
	}
	for i := range specs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return errors.Join(errs...)
}

func (o *ReplayOptions) startExtender(ctx context.Context, c *cluster.Cluster, policy string) (*child, string, error) {
	kubeconfig, err := c.WriteKubeconfig("replay-extender", c.Config())
	if err != nil {
		return nil, "", err
	}
	args := []string{"serve-extender", "--kubeconfig", kubeconfig}
	if o.Policy != "" {
		args = append(args, "--policy", policy)
	}
	ch, stdout, err := startChild("extender", o.Executable, args, filepath.Join(o.LogDir, "replay-extender.log"))
	if err != nil {
		return nil, "", err
	}
	var ready ExtenderReady
	if err := ch.readReady(ctx, stdout, 5*time.Minute, &ready); err != nil {
		ch.stop(5 * time.Second)
		return nil, "", err
	}
	o.Logf("replay: extender synced %d nodes, %d cards at %s", ready.Nodes, ready.Cards, ready.Address)
	return ch, ready.Address, nil
}

// startWebhook runs the webhook server (perf serve-webhook) with a fresh
// loopback certificate, registers the shipped mutating configuration
// pointed at it, and waits until the API server calls it.
func (o *ReplayOptions) startWebhook(ctx context.Context, client kubernetes.Interface, scheduler string) (*child, error) {
	certDir := filepath.Join(o.LogDir, "webhook-cert")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, err
	}
	cert, err := writeLoopbackCert(certDir, time.Now())
	if err != nil {
		return nil, err
	}
	ch, stdout, err := startChild("webhook", o.Executable, []string{"serve-webhook", "--cert-dir", certDir, "--scheduler-name", scheduler, "--placement-resource", api.ResourcePlacement},
		filepath.Join(o.LogDir, "replay-webhook.log"))
	if err != nil {
		return nil, err
	}
	var ready WebhookReady
	if err := ch.readReady(ctx, stdout, time.Minute, &ready); err != nil {
		ch.stop(5 * time.Second)
		return nil, err
	}
	raw, err := os.ReadFile(o.MutatingWebhook)
	if err != nil {
		ch.stop(5 * time.Second)
		return nil, err
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(raw, &m); err != nil {
		ch.stop(5 * time.Second)
		return nil, fmt.Errorf("%s: %w", o.MutatingWebhook, err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	for i := range m.Webhooks {
		cc := m.Webhooks[i].ClientConfig
		if cc.Service == nil || cc.Service.Path == nil {
			ch.stop(5 * time.Second)
			return nil, fmt.Errorf("%s: webhook %s has no service path", o.MutatingWebhook, m.Webhooks[i].Name)
		}
		url := fmt.Sprintf("https://127.0.0.1:%d%s", ready.Port, *cc.Service.Path)
		m.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM}
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &m, metav1.CreateOptions{}); err != nil {
		ch.stop(5 * time.Second)
		return nil, fmt.Errorf("registering the webhook: %w", err)
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe", Namespace: replayNamespace, Annotations: map[string]string{api.AnnotationGPU: "1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "none"}}},
	}
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(replayNamespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if last = err; err != nil {
			return false, nil
		}
		if p.Spec.SchedulerName != scheduler {
			last = fmt.Errorf("the webhook wrote scheduler %q, want %q", p.Spec.SchedulerName, scheduler)
			return false, nil
		}
		return true, nil
	}); err != nil {
		ch.stop(5 * time.Second)
		return nil, fmt.Errorf("the API server did not call the webhook within a minute (%w): %v", err, last)
	}
	return ch, nil
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o ReplayOptions
	fs.StringVar(&o.NodesFile, "nodes", "", "node list CSV of the trace, as simulate reads it; required")
	fs.StringVar(&o.PodsFile, "pods", "", "pod list CSV of the trace, as simulate reads it; required")
	fs.Int64Var(&o.Seed, "seed", 42, "seed of the arrival order, as simulate's")
	fs.Float64Var(&o.Inflate, "inflate", 1.3, "resample the arrivals to this multiple of the cluster's GPUs, as simulate's")
	fs.Float64Var(&o.UntilArrived, "until-arrived", 100, "stop once the account at this arrived % is complete; 0: the whole arrival order")
	fs.IntVar(&o.MaxPods, "max-pods", 0, "stop after this many pods (a prefix of the order); 0: no limit")
	diff := fs.String("diff", "", "also write, per pod of the order, its request and its node through kube-scheduler and in simulate into this TSV file")
	simArgs := fs.String("simulate-flags", "", "more flags of simulate for the comparison, e.g. \"--ties random\"")
	fs.StringVar(&o.SchedulerConfig, "scheduler-config", "deploy/base/scheduler/scheduler-config.yaml", "the shipped KubeSchedulerConfiguration")
	fs.IntVar(&o.PercentageOfNodesToScore, "percentage-of-nodes-to-score", -1, "an experiment: also set percentageOfNodesToScore in the scheduler configuration; -1: as shipped")
	fs.StringVar(&o.MutatingWebhook, "mutating-webhook", "deploy/base/webhook/mutating.yaml", "the shipped MutatingWebhookConfiguration")
	fs.StringVar(&o.Policy, "policy", "", "placement policy of the extender (and of simulate); default the extender's")
	fs.DurationVar(&o.GateFor, "gate-for", 0, "an experiment: create each pod behind a scheduling gate lifted this long after it is seen, so that the extender's informer has it before kube-scheduler schedules it; 0: no gate")
	fs.StringVar(&o.BinDir, "bin-dir", "", "directory of etcd, kube-apiserver and kube-scheduler (default: $GPUPLANE_BIN_DIR, else bin/)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.NodesFile == "" || o.PodsFile == "" {
		fmt.Fprintln(stderr, "perf replay: --nodes and --pods are required (the trace's node and pod list CSVs)")
		return errUsage
	}
	o.SimulateArgs = strings.Fields(*simArgs)
	if o.BinDir == "" {
		if o.BinDir, err = cluster.BinDir(); err != nil {
			return fmt.Errorf("the control-plane programs (make tools): %w", err)
		}
	}
	if o.LogDir, err = os.MkdirTemp("", "gpuplane-replay-"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fmt.Fprintf(stderr, "perf replay: the programs' logs are in %s\n", o.LogDir)
			return
		}
		_ = os.RemoveAll(o.LogDir)
	}()
	o.WorkDir = o.LogDir
	o.Logf = stderrLogf(stderr)
	start := time.Now()
	r, err := RunReplay(ctx, o)
	if err != nil {
		return err
	}
	real := sim.Summarise(r.Policy, []int64{o.Seed}, []sim.Result{r.Real})
	simulated := sim.Summarise(r.Policy, []int64{o.Seed}, []sim.Result{r.Simulated})
	fmt.Fprintln(stdout, real.JSON())
	fmt.Fprintf(stderr, "perf replay: through kube-scheduler %s in %s\n", real.JSON(), time.Since(start).Round(time.Second))
	fmt.Fprintf(stderr, "perf replay: simulate, same pods    %s\n", simulated.JSON())
	for k, th := range sim.Thresholds() {
		if r.Real.Reached[k] {
			fmt.Fprintf(stderr, "perf replay: at %d%% arrived: %.2f%% through kube-scheduler, %.2f%% in simulate (%+.2f points)\n",
				th, r.Real.At[k], r.Simulated.At[k], r.Real.At[k]-r.Simulated.At[k])
		}
	}
	if *diff != "" {
		if err := writeReplayDiff(*diff, o, r); err != nil {
			return err
		}
	}
	g := r.Agreement
	fmt.Fprintf(stderr, "perf replay: %d pods: %d on the same node, %d placed by both, %d only through kube-scheduler, %d only in simulate; first difference at pod %d\n",
		g.Pods, g.SameNode, g.BothPlaced, g.OnlyA, g.OnlyB, g.FirstDiff)
	return nil
}

// writeReplayDiff writes the pods of the replay side by side: position in
// the order, trace pod, request, node through kube-scheduler, node in
// simulate ("-" when dropped).
func writeReplayDiff(path string, o ReplayOptions, r ReplayOutcome) error {
	t, err := sim.LoadTrace(o.NodesFile, o.PodsFile)
	if err != nil {
		return err
	}
	order := sim.Arrivals(t.Pods, t.Capacity(), o.Seed, o.Inflate)
	var b strings.Builder
	b.WriteString("i\tpod\tgpu\tcpu_milli\tmemory_mib\treal\tsimulate\n")
	name := func(n int) string {
		if n < 0 {
			return "-"
		}
		return t.Nodes[n].Name
	}
	for i := 0; i < len(r.Real.Nodes) && i < len(r.Simulated.Nodes); i++ {
		p := &t.Pods[order[i]]
		req, _ := TraceRequest(&p.Request)
		fmt.Fprintf(&b, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", i, p.Name, req, p.Request.CPUMilli, p.Request.MemoryMiB, name(r.Real.Nodes[i]), name(r.Simulated.Nodes[i]))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
