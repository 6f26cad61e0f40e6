package perf

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/webhook"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// Exit codes of the perf command.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `Usage: perf COMMAND [flags]

Measures gpuplane and writes the figures into a results file (bench/results.json);
every command replaces its own section of it and leaves the others (replay prints
its figures instead).

  gobench     run the Go benchmarks (go test -bench) and record them
  webhook     load the webhook binary over HTTPS on the loopback
  extender    filter and prioritize over HTTP against 1,000 to 10,000 nodes
  endtoend    kube-scheduler with and without the extender on a local control plane
  replay      a trace's pods one at a time through the webhook, kube-scheduler and the extender
  report      write the figures of the results file into docs/performance.md

'perf COMMAND -h' lists a command's flags.
`

// Main runs the perf command with args (without the program name) and
// returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve-extender":
		err = runServeExtender(ctx, rest, stdout, stderr)
	case "serve-webhook":
		err = runServeWebhook(ctx, rest, stdout, stderr)
	case "extender":
		err = runExtender(ctx, rest, stderr)
	case "webhook":
		err = runWebhook(ctx, rest, stderr)
	case "endtoend":
		err = runEndToEnd(ctx, rest, stderr)
	case "replay":
		err = runReplay(ctx, rest, stdout, stderr)
	case "gobench":
		err = runGoBench(ctx, rest, stdout, stderr)
	case "report":
		err = runReport(rest, stderr)
	default:
		fmt.Fprintf(stderr, "perf: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "perf %s: %v\n", cmd, err)
		return exitError
	}
	return exitOK
}

// errUsage marks bad flags; the flag package has said what was wrong.
var errUsage = errors.New("usage")

// common are the flags every measuring command takes.
type common struct {
	results string
	workDir string
	// logDir holds the programs' logs and the webhook's certificate: a
	// temporary directory, removed after a run that succeeded.
	logDir string
	root   string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.results, "results", "bench/results.json", "results file to put this command's section into")
	fs.StringVar(&c.workDir, "work-dir", "", "directory for the CPU and heap profiles (default: the results file's directory)")
}

// resolve fills in the defaults that depend on other flags.
func (c *common) resolve() error {
	if c.workDir == "" {
		c.workDir = filepath.Dir(c.results)
	}
	if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	c.root = findRoot(wd)
	if c.logDir, err = os.MkdirTemp("", "gpuplane-perf-"); err != nil {
		return fmt.Errorf("creating the log directory: %w", err)
	}
	return nil
}

// cleanup removes the log directory after a run that succeeded and says
// where it is after one that failed.
func (c *common) cleanup(err error, stderr io.Writer) {
	if c.logDir == "" {
		return
	}
	if err != nil {
		fmt.Fprintf(stderr, "perf: the programs' logs are in %s\n", c.logDir)
		return
	}
	_ = os.RemoveAll(c.logDir)
}

// findRoot returns the directory holding go.mod above dir, or "" when none.
func findRoot(dir string) string {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "perf %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return errUsage
	}
	return nil
}

// commandLine is how a section records the command that produced it.
func commandLine(name string, args []string) string {
	return strings.TrimSpace("bin/perf " + name + " " + strings.Join(args, " "))
}

// intList parses "1000,5000" into numbers.
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no numbers given")
	}
	return out, nil
}

// stderrLogf reports progress on stderr with the time.
func stderrLogf(w io.Writer) func(string, ...any) {
	start := time.Now()
	return func(format string, args ...any) {
		fmt.Fprintf(w, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// newSection starts a section's bookkeeping.
func newSection(name, title, command string) Section {
	return Section{Name: name, Title: title, Command: command, Started: time.Now().UTC().Truncate(time.Second),
		Load: LoadRange{Before: LoadAverage()}}
}

// finish stamps the section's end and saves it.
func finish(ctx context.Context, s Section, c common, controlPlaneBin string) error {
	s.Seconds = time.Since(s.Started).Round(time.Second).Seconds()
	s.Load.After = LoadAverage()
	return SaveSection(c.results, s, ReadMachine(), ReadVersions(ctx, c.root, controlPlaneBin))
}

func runServeExtender(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve-extender", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o ExtenderServerOptions
	var qps float64
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the API server to watch")
	fs.StringVar(&o.Server, "server", "", "plain-HTTP API server to watch (the fake one of the scale run)")
	fs.StringVar(&o.Policy, "policy", "", "placement policy (default: the extender's)")
	fs.Float64Var(&qps, "qps", 0, "API client queries per second (default: the extender's)")
	fs.IntVar(&o.Burst, "burst", 0, "API client burst (default: the extender's)")
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	klogFlags.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.QPS = float32(qps)
	return ServeExtender(klog.NewContext(ctx, klog.Background()), o, stdout)
}

// measurement is a measuring command: its own flags, and the measurement
// that fills its section of the results file.
type measurement struct {
	// name is the command's name; section and title name its section.
	name, section, title string
	// flags binds the command's own flags; intLists are its flags of
	// comma-separated numbers, each parsed into its field once the flags are,
	// before anything is created.
	flags    func(fs *flag.FlagSet)
	intLists []intListFlag
	// measure sets the section's setup, repeats and figures. It returns the
	// kube-apiserver program whose version the section records ("" for none).
	measure func(ctx context.Context, env RunEnv, s *Section) (controlPlaneBin string, err error)
}

// intListFlag is a flag of comma-separated positive numbers.
type intListFlag struct {
	name, value, usage string
	into               *[]int
}

// run parses args with the common flags and m's own, prepares the work and
// log directories, measures and saves the section; the log directory is
// removed after a run that succeeded and named after one that failed.
func (m measurement) run(ctx context.Context, args []string, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet(m.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	m.flags(fs)
	lists := make([]*string, len(m.intLists))
	for i, l := range m.intLists {
		lists[i] = fs.String(l.name, l.value, l.usage)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for i, l := range m.intLists {
		if *l.into, err = intList(*lists[i]); err != nil {
			return fmt.Errorf("--%s: %w", l.name, err)
		}
	}
	if err := c.resolve(); err != nil {
		return err
	}
	defer func() { c.cleanup(err, stderr) }()
	s := newSection(m.section, m.title, commandLine(m.name, args))
	bin, err := m.measure(ctx, RunEnv{WorkDir: c.workDir, LogDir: c.logDir, Logf: stderrLogf(stderr)}, &s)
	if err != nil {
		return err
	}
	return finish(ctx, s, c, bin)
}

func runExtender(ctx context.Context, args []string, stderr io.Writer) error {
	var o ExtenderScaleOptions
	return measurement{
		name: "extender", section: SectionExtender, title: "Extender at scale: /filter and /prioritize over HTTP",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&o.Pods, "pods", 40000, "running pods in every cluster")
			fs.IntVar(&o.PodsPerRepeat, "pods-per-repeat", 200, "pods scheduled (filter and prioritize) per repeat")
			fs.IntVar(&o.Warmup, "warmup", 20, "pods scheduled before the measured ones")
			fs.IntVar(&o.Repeats, "repeats", 3, "repeats per size, each with a fresh extender process")
			fs.StringVar(&o.Policy, "policy", "auto", "placement policy of the extender")
			fs.IntVar(&o.GoalNodes, "goal-nodes", 5000, "the size the latency goal (p99 <= 5 ms) applies to")
			fs.IntVar(&o.ProfileNodes, "profile-nodes", 5000, "size at which CPU and heap profiles are taken; 0 for none")
			fs.IntVar(&o.ProfileSeconds, "profile-seconds", 10, "length of the CPU profile")
		},
		intLists: []intListFlag{{name: "nodes", value: "1000,5000,10000", usage: "cluster sizes, comma-separated", into: &o.NodeCounts}},
		measure: func(ctx context.Context, env RunEnv, s *Section) (_ string, err error) {
			o.RunEnv = env
			s.Repeats = o.Repeats
			s.Setup = fmt.Sprintf("A separate extender process runs extender.Run, as the extender program does, with the program's defaults (policy %q, "+
				"API client 100 requests/s): its informers list and watch %s running pods and the nodes (8 cards each) from a loopback server that streams "+
				"them as kube-apiserver does (watch-list), so the informers' transform and cache are the real ones. The load generator then schedules "+
				"pods one at a time like kube-scheduler with nodeCacheCapable: POST /filter with the pod and the candidate node names, then POST /prioritize "+
				"with the names that fit; then again with the shipped configuration's single call, POST /filter-best, which answers the nodes the "+
				"policy ranks first. Candidates: every node (the worst case, percentageOfNodesToScore: 100), and as many as kube-scheduler sends with "+
				"the shipped configuration (its adaptive default). Requests in turn: %s, as the webhook admits them. Times are per call from sending to the "+
				"answer read, keep-alive HTTP on 127.0.0.1; %d pods per repeat after %d warm-up pods, a fresh extender per repeat. Memory is the extender "+
				"process's, from /proc.",
				o.Policy, thousands(o.Pods), strings.Join(queryRequests, ", "), o.PodsPerRepeat, o.Warmup)
			s.Figures, s.Notes, s.Profiles, err = RunExtenderScale(ctx, o)
			return "", err
		},
	}.run(ctx, args, stderr)
}

func runWebhook(ctx context.Context, args []string, stderr io.Writer) error {
	var o WebhookLoadOptions
	return measurement{
		name: "webhook", section: SectionWebhook, title: "Webhook over HTTPS on the loopback",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Binary, "webhook-bin", "bin/webhook", "the webhook program (go build -o bin/ ./cmd/webhook)")
			fs.DurationVar(&o.Duration, "duration", 5*time.Second, "length of one measured window")
			fs.DurationVar(&o.Warmup, "warmup", time.Second, "load before each measured window")
			fs.IntVar(&o.MaxRequests, "max-requests", 1_000_000, "most reviews in one window")
			fs.IntVar(&o.Repeats, "repeats", 3, "windows per concurrency")
			fs.IntVar(&o.GoalConcurrency, "goal-concurrency", 4, "the concurrency the goals are judged at")
			fs.StringVar(&o.Request, "request", "2(V100|A100)", "GPU request of the pods")
			fs.IntVar(&o.ProfileSeconds, "profile-seconds", 10, "length of a CPU profile of the webhook's server code under load at the goal concurrency; 0 for none")
		},
		intLists: []intListFlag{{name: "concurrency", value: "1,4", usage: "connections to measure with, comma-separated", into: &o.Concurrency}},
		measure: func(ctx context.Context, env RunEnv, s *Section) (_ string, err error) {
			o.RunEnv = env
			s.Repeats = o.Repeats
			s.Setup = fmt.Sprintf("The webhook program (cmd/webhook, TLS with a fresh ECDSA P-256 certificate, HTTP/1.1) on 127.0.0.1; a Go load generator in "+
				"another process sends AdmissionReview v1 requests for the creation of a two-container training pod asking %q (role train) "+
				"over keep-alive connections, each connection one review after the other, and checks every answer is allowed with a patch. "+
				"Windows of %s after %s of warm-up; latency from sending to the answer read. Server and load generator share the machine's cores.",
				o.Request, o.Duration, o.Warmup)
			s.Figures, s.Notes, s.Profiles, err = RunWebhookLoad(ctx, o)
			return "", err
		},
	}.run(ctx, args, stderr)
}

func runEndToEnd(ctx context.Context, args []string, stderr io.Writer) error {
	var o EndToEndOptions
	var qps float64
	var only *string
	return measurement{
		name: "endtoend", section: SectionEndToEnd, title: "End to end: kube-scheduler with and without the extender",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&o.Nodes, "nodes", 1000, "nodes of 8 cards")
			fs.IntVar(&o.Pods, "pods", 2000, "GPU pods per run")
			fs.IntVar(&o.Repeats, "repeats", 3, "runs of each variant")
			fs.StringVar(&o.SchedulerConfig, "scheduler-config", "deploy/base/scheduler/scheduler-config.yaml", "the shipped KubeSchedulerConfiguration")
			fs.StringVar(&o.BinDir, "bin-dir", "", "directory of etcd, kube-apiserver and kube-scheduler (default: $GPUPLANE_BIN_DIR, else bin/)")
			fs.Float64Var(&qps, "create-qps", 2000, "queries per second of the pod creator")
			fs.IntVar(&o.CreateBurst, "create-burst", 4000, "burst of the pod creator")
			fs.IntVar(&o.CreateWorkers, "create-workers", 32, "concurrent pod creations")
			fs.DurationVar(&o.RunTimeout, "run-timeout", 5*time.Minute, "longest wait for one run's pods to be bound")
			only = fs.String("modes", "", "only this mode: shipped (client limits as shipped) or raised (client limits raised); default both")
			fs.IntVar(&o.ProfileSeconds, "profile-seconds", 10, "length of the CPU profiles taken from the start of each variant's last run; 0 for none")
		},
		measure: func(ctx context.Context, env RunEnv, s *Section) (string, error) {
			o.CreateQPS = float32(qps)
			if o.BinDir == "" {
				dir, err := cluster.BinDir()
				if err != nil {
					return "", fmt.Errorf("the control-plane programs (make tools): %w", err)
				}
				o.BinDir = dir
			}
			o.RunEnv = env
			s.Repeats = o.Repeats
			s.Setup = fmt.Sprintf("A local control plane (etcd, kube-apiserver, kube-scheduler from bin/) with %s Node objects of 8 cards "+
				"(labels, devices annotation and capacity as the node agent and device plugin leave them; no kubelet). Two kube-schedulers run side by side "+
				"the whole time: the shipped %s with its extender URL pointed at the extender (a separate process running extender.Run with the program's defaults, "+
				"informers on this API server), and the same configuration without extenders. Each run creates %s pods asking 1 or 2 cards in turn "+
				"(as the webhook admits `1` and `2` for the extender's profile; plain nvidia.com/gpu limits for the other), with %d concurrent creators at up to %.0f requests/s, "+
				"and times every pod's binding from a pod informer. Rates are from the first bind to the last; the variants alternate which goes first; "+
				"pods are deleted between runs. Two sets, each on a fresh control plane: the client limits as shipped, and the client limits of both kube-schedulers and the extender raised "+
				"so that CPU rather than a rate limit bounds them.", thousands(o.Nodes), filepath.Base(o.SchedulerConfig), thousands(o.Pods), o.CreateWorkers, qps)
			modes := DefaultE2EModes()
			if *only != "" {
				var kept []E2EMode
				for _, m := range modes {
					if strings.Contains(*only, m.Name) || (*only == "raised" && m.ClientQPS > 0) || (*only == "shipped" && m.ClientQPS == 0) {
						kept = append(kept, m)
					}
				}
				if len(kept) == 0 {
					return "", fmt.Errorf("--modes %q matches no mode; want shipped or raised", *only)
				}
				modes = kept
			}
			var apiserver string
			var err error
			s.Figures, s.Notes, s.Profiles, apiserver, err = RunEndToEnd(ctx, o, modes)
			return apiserver, err
		},
	}.run(ctx, args, stderr)
}

func runGoBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var count *int
	var benchtime, pkgs, goCmd *string
	return measurement{
		name: "gobench", section: SectionGo, title: "Go benchmarks",
		flags: func(fs *flag.FlagSet) {
			count = fs.Int("count", 3, "runs of every benchmark (go test -count)")
			benchtime = fs.String("benchtime", "1s", "go test -benchtime")
			pkgs = fs.String("packages", "./pkg/... ./test/perf", "packages, space-separated")
			goCmd = fs.String("go", "go", "the go command")
		},
		measure: func(ctx context.Context, _ RunEnv, s *Section) (string, error) {
			goArgs := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(*count), "-benchtime", *benchtime},
				strings.Fields(*pkgs)...)
			s.Command = *goCmd + " " + strings.Join(goArgs, " ")
			s.Repeats = *count
			s.Setup = "Each benchmark of the packages with GOMAXPROCS as the machine has; the figures are over the -count runs. " +
				"They include the grammar (pkg/gpuspec), the catalog, the webhook's handler (decode, mutate, patch), placement and the extender's handlers where those packages have benchmarks, " +
				"and the scale run's fleet through the extender's handler in one process (test/perf, BenchmarkFilterBestFleet)."
			out, runErr := runGo(ctx, *goCmd, goArgs, stdout)
			results, failed, err := ParseBenchOutput(strings.NewReader(out))
			if err != nil {
				return "", err
			}
			if len(results) == 0 {
				return "", fmt.Errorf("go test ran no benchmark (%v)", runErr)
			}
			s.Figures = BenchFigures(results, "github.com/gpuplane/gpuplane/")
			for _, f := range failed {
				s.Notes = append(s.Notes, "go test reported: "+f)
			}
			if runErr != nil && len(failed) == 0 {
				s.Notes = append(s.Notes, fmt.Sprintf("go test ended with %v", runErr))
			}
			if len(s.Notes) > 0 {
				fmt.Fprintf(stderr, "perf gobench: some packages failed; recorded what ran:\n  %s\n", strings.Join(s.Notes, "\n  "))
			}
			return "", nil
		},
	}.run(ctx, args, stderr)
}

func runReport(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "bench/results.json", "results file")
	doc := fs.String("doc", "docs/performance.md", "document whose figures part is rewritten")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := ReadResults(*results)
	if err != nil {
		return err
	}
	return UpdateReport(*doc, r)
}

func runServeWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve-webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	certDir := fs.String("cert-dir", "", "directory holding tls.crt and tls.key")
	scheduler := fs.String("scheduler-name", "gpuplane", "scheduler written into GPU pods")
	placement := fs.String("placement-resource", "", "resource a pod asking \"0\" gets one of (the webhook's --placement-resource)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := webhook.Options{SchedulerName: *scheduler, PlacementResource: corev1.ResourceName(*placement)}
	return ServeWebhook(klog.NewContext(ctx, klog.Background()), *certDir, opts, stdout)
}
