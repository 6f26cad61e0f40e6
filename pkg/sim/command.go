package sim

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// ErrUsage marks a command line that cannot be run.
var ErrUsage = errors.New("usage")

// Options is one simulate invocation.
type Options struct {
	// NodesFile and PodsFile are the trace's node and pod lists. Required.
	NodesFile, PodsFile string
	// Policies to replay; default [auto].
	Policies []string
	// Seeds to replay each policy with; default [42]. More than one seed
	// reports the mean and standard deviation.
	Seeds []int64
	// Inflate is the requested GPU over cluster capacity the arrivals are
	// resampled to; default 1.3.
	Inflate float64
	// FGDCoverage is the share of the trace's pods (most frequent classes
	// first) the mix of fgd keeps; default 0.95, as the paper.
	FGDCoverage float64
	// Auto tunes the auto policy (ablations); the zero value is its defaults.
	Auto placement.AutoOptions
	// Ties is how equal best scores are broken; default TiesFirstName, the
	// extender's (TiesShuffled is the paper simulator's).
	Ties Ties
	// Parallel is how many replays run at once; default the CPU count.
	Parallel int
	// JSON prints one JSON object per policy instead of a table.
	JSON bool
	// Plot, when set, is the SVG file the allocation-against-arrival curves
	// of every policy are drawn into.
	Plot string
	// Sampling, when set, replays kube-scheduler's node sampling in front of
	// every policy.
	Sampling *Sampling
	// CPUPods is who places the pods without GPU: the policy (the paper's
	// protocol, the default) or kube-scheduler's default scores.
	CPUPods CPUPods
	// Limit also reports, per seed, the offline packing and the upper bound
	// of the pods arrived by 100% (ComputeLimit).
	Limit bool
	// Progress, when set, gets a line per replay finished while several run.
	Progress io.Writer
	// Sharing is the backend the trace's shares go through (ServeWith);
	// default gpu-manager, the trace as read.
	Sharing placement.Sharing
	// HAMiSplit is the tasks a card holds with Sharing hami; default
	// DefaultHAMiSplit.
	HAMiSplit int
}

func (o *Options) setDefaults() {
	if len(o.Policies) == 0 {
		o.Policies = []string{placement.PolicyAuto}
	}
	if len(o.Seeds) == 0 {
		o.Seeds = []int64{42}
	}
	if o.Inflate == 0 {
		o.Inflate = 1.3
	}
	if o.FGDCoverage == 0 {
		o.FGDCoverage = 0.95
	}
	if o.Parallel <= 0 {
		o.Parallel = runtime.NumCPU()
	}
	if o.HAMiSplit == 0 {
		o.HAMiSplit = DefaultHAMiSplit
	}
}

// RunSimulate runs the simulate subcommand with args (without the word
// "simulate"), writes its report to stdout and its progress to standard
// error.
func RunSimulate(args []string, stdout io.Writer) error {
	return RunSimulateIO(args, stdout, os.Stderr)
}

// RunSimulateIO is RunSimulate with the progress written to stderr.
func RunSimulateIO(args []string, stdout, stderr io.Writer) error {
	reg := placement.Builtin()
	o, err := ParseFlags(args, reg.Names(), stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	o.Progress = stderr
	return Run(o, reg, stdout)
}

// ParseFlags turns the command line into Options; on --help it writes the
// help to out and returns flag.ErrHelp.
func ParseFlags(args []string, policies []string, out io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.NodesFile, "nodes", "", "node list CSV of the trace (sn,cpu_milli,memory_mib,gpu,model); required")
	fs.StringVar(&o.PodsFile, "pods", "", "pod list CSV of the trace (name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec]); required")
	policy := fs.String("policy", placement.PolicyAuto, "placement policy to replay: "+strings.Join(policies, ", ")+", or all")
	seed := fs.Int64("seed", 42, "seed of the arrival order and of tie-breaks")
	seeds := fs.String("seeds", "", "replay every seed of a range such as 42-51 (or a list 1,2,3) and report mean and standard deviation; overrides --seed")
	fs.Float64Var(&o.Inflate, "inflate", 1.3, "resample the arrivals until the requested GPU reaches this multiple of the cluster's GPUs")
	fs.Float64Var(&o.FGDCoverage, "fgd-coverage", 0.95, "share of the trace's pods, most frequent classes first, in the mix fgd measures against")
	ties := fs.String("ties", "name", "equal best scores go to the node whose name sorts first (name: the extender's /filter-best), to one at random (random: kube-scheduler's own scores) or to the node first in an order of the nodes shuffled once per seed (shuffled: the paper's simulator)")
	fs.IntVar(&o.Parallel, "parallel", runtime.NumCPU(), "replays run at once")
	fs.Float64Var(&o.Auto.Coverage, "auto-coverage", 0.99, "auto: share of the observed pods, most frequent classes first, its learned mix keeps")
	fs.Float64Var(&o.Auto.ShareFill, "auto-share-fill", 0.5, "auto: weight, 0..1, of what a share class could consume of a node against the paper's count (0 = the paper's measure)")
	fs.Float64Var(&o.Auto.PressureGamma, "auto-pressure", 3, "auto: exponent of the card-type pressure on typed classes (0 = off)")
	hostMem := fs.Bool("auto-host-memory", true, "auto: a class must also fit the node's free host memory")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object per policy")
	sampling := fs.Bool("kube-scheduler-sampling", false, "replay kube-scheduler's node sampling: from a start that rotates across pods, keep the nodes that pass its own filters (CPU, memory, card type) until it has percentageOfNodesToScore of them; the policy sees only those")
	pct := fs.Int("percentage-of-nodes-to-score", 0, "with --kube-scheduler-sampling: kube-scheduler's percentageOfNodesToScore (0 = its adaptive default, max(5, 50 - nodes/125)%, at least 100 nodes)")
	cpuPods := fs.String("cpu-pods", "policy", "who places the pods without GPU: policy (the replayed policy, which also learns from them: the paper's protocol, and the shipped product for a pod asking \"0\", which reaches the extender with gpuplane.io/placement), kube-scheduler (the gpuplane-scheduler profile without the extender: any node it fits, at random) or default-scheduler (kube-scheduler's default scores); with the last two the learner does not see them")
	fs.BoolVar(&o.Limit, "limit", false, "also report, per seed, offline packings (first-fit decreasing by GPU with the tightest node, bestfit, fgd, auto) and an upper bound of the allocation at 100% arrived (one JSON object per seed)")
	fs.StringVar(&o.Plot, "plot", "", "also draw allocation % against arrived % of every policy (mean over the seeds) into this SVG file")
	sharing := fs.String("sharing", placement.SharingGPUManager.String(), "the backend the trace's shares go through: gpu-manager (the trace as read) or hami (every card holds at most --hami-split tasks, as HAMi registers it; compare with the hami-* policies, HAMi's own)")
	fs.IntVar(&o.HAMiSplit, "hami-split", DefaultHAMiSplit, "with --sharing hami: the most tasks a card holds (HAMi's deviceSplitCount)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, "Usage: simulate --nodes NODES.csv --pods PODS.csv [--policy P|all] [--seed N | --seeds A-B] [--inflate 1.3] [--json]\n\n"+
				"Replays a trace in the Alibaba format through the placement code the extender serves and\n"+
				"reports the GPU allocation % when 90/100/110/120/130 % of the cluster's GPUs have arrived.\n\nFlags:\n")
			fs.SetOutput(out)
			fs.PrintDefaults()
			return o, flag.ErrHelp
		}
		return o, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q; every input is a flag (see --help)", ErrUsage, fs.Arg(0))
	}
	if o.NodesFile == "" || o.PodsFile == "" {
		return o, fmt.Errorf("%w: --nodes and --pods are required (the trace's node and pod list CSVs)", ErrUsage)
	}
	o.Auto.IgnoreHostMemory = !*hostMem
	s, err := placement.ParseSharing(*sharing)
	if err != nil {
		return o, fmt.Errorf("%w: --sharing: %w", ErrUsage, err)
	}
	o.Sharing = s
	if o.Auto.ShareFill == 0 {
		o.Auto.ShareFill = -1 // 0 asks for the paper's measure; AutoOptions reads 0 as "default"
	}
	if o.Auto.PressureGamma == 0 {
		o.Auto.PressureGamma = -1
	}
	if *policy == "all" {
		o.Policies = policies
	} else {
		o.Policies = []string{*policy}
	}
	if *pct < 0 || *pct > 100 {
		return o, fmt.Errorf("%w: --percentage-of-nodes-to-score %d, want 0 (adaptive) to 100", ErrUsage, *pct)
	}
	if *sampling {
		o.Sampling = &Sampling{PercentageOfNodesToScore: *pct}
	} else if *pct != 0 {
		return o, fmt.Errorf("%w: --percentage-of-nodes-to-score needs --kube-scheduler-sampling", ErrUsage)
	}
	t, err := ParseTies(*ties)
	if err != nil {
		return o, err
	}
	o.Ties = t
	if o.CPUPods, err = ParseCPUPods(*cpuPods); err != nil {
		return o, err
	}
	if *seeds != "" {
		s, err := ParseSeeds(*seeds)
		if err != nil {
			return o, err
		}
		o.Seeds = s
	} else {
		o.Seeds = []int64{*seed}
	}
	if o.Inflate <= 0 || o.Inflate > 100 {
		return o, fmt.Errorf("%w: --inflate %v, want a multiple in (0, 100]", ErrUsage, o.Inflate)
	}
	if o.FGDCoverage <= 0 || o.FGDCoverage > 1 {
		return o, fmt.Errorf("%w: --fgd-coverage %v, want a share in (0, 1]", ErrUsage, o.FGDCoverage)
	}
	return o, nil
}

// ParseSeeds reads "42-51" (inclusive) or "1,5,9".
func ParseSeeds(s string) ([]int64, error) {
	bad := func() error {
		return fmt.Errorf("%w: --seeds %q, want a range such as 42-51 or a list such as 1,2,3", ErrUsage, s)
	}
	if a, b, ok := strings.Cut(s, "-"); ok && !strings.Contains(s, ",") {
		lo, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		hi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err1 != nil || err2 != nil || hi < lo || hi-lo >= 10000 {
			return nil, bad()
		}
		var out []int64
		for v := lo; v <= hi; v++ {
			out = append(out, v)
		}
		return out, nil
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, bad()
		}
		out = append(out, v)
	}
	return out, nil
}

// Trace is a loaded trace: its nodes and pods.
type Trace struct {
	Nodes []placement.Node
	Pods  []Pod
}

// LoadTrace reads the node and pod lists.
func LoadTrace(nodesFile, podsFile string) (*Trace, error) {
	var t Trace
	for _, f := range []struct {
		path string
		read func(io.Reader) error
	}{
		{nodesFile, func(r io.Reader) (err error) { t.Nodes, err = ReadNodes(r); return }},
		{podsFile, func(r io.Reader) (err error) { t.Pods, err = ReadPods(r); return }},
	} {
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTrace, err)
		}
		err = f.read(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return &t, nil
}

// Capacity is the cluster's GPU in milli.
func (t *Trace) Capacity() int64 {
	var c int64
	for i := range t.Nodes {
		c += t.Nodes[i].GPUMilli()
	}
	return c
}

// TraceWorkload is the mix of the whole pod list as the paper gives it to
// fgd: pods grouped by (CPU, GPU count, GPU milli, GPU types) — memory is
// no part of the paper's classes nor of its measure — and the most frequent
// classes kept until they cover coverage of the pods (the paper: 95%).
func (t *Trace) TraceWorkload(coverage float64) *placement.Workload {
	var tally placement.Tally
	for i := range t.Pods {
		r := t.Pods[i].Request
		r.MemoryMiB = 0
		tally.Add(&r, 1)
	}
	return placement.NewWorkload(tally.Top(coverage, 0))
}

// Run replays every policy with every seed and writes one report per policy.
func Run(o Options, reg *placement.Registry, stdout io.Writer) error {
	o.setDefaults()
	t, err := LoadTrace(o.NodesFile, o.PodsFile)
	if err != nil {
		return err
	}
	if err := t.ServeWith(o.Sharing, o.HAMiSplit); err != nil {
		return err
	}
	cfg := placement.Config{Workload: t.TraceWorkload(o.FGDCoverage), Auto: o.Auto}
	for _, name := range o.Policies {
		if _, err := reg.New(name, cfg); err != nil {
			return fmt.Errorf("%w: --policy: %w", ErrUsage, err)
		}
	}
	results, err := t.ReplayAll(o, reg, cfg)
	if err != nil {
		return err
	}
	if o.Plot != "" {
		if err := writePlotFile(o, results); err != nil {
			return err
		}
	}
	if o.Limit {
		if err := t.writeLimits(o, reg, cfg, stdout); err != nil {
			return err
		}
	}
	if !o.JSON {
		writeTableHeader(stdout, len(o.Seeds) > 1)
	}
	for i, name := range o.Policies {
		s := Summarise(name, o.Seeds, results[i])
		if o.JSON {
			fmt.Fprintln(stdout, s.JSON())
		} else {
			s.writeRow(stdout)
		}
	}
	return nil
}

// ReplayAll replays every policy of o with every seed, o.Parallel at a
// time; results[p][s] is policy p with seed s.
func (t *Trace) ReplayAll(o Options, reg *placement.Registry, cfg placement.Config) ([][]Result, error) {
	o.setDefaults()
	capacity := t.Capacity()
	orders := make([][]int, len(o.Seeds))
	for s, seed := range o.Seeds {
		orders[s] = Arrivals(t.Pods, capacity, seed, o.Inflate)
	}
	results := make([][]Result, len(o.Policies))
	for p := range results {
		results[p] = make([]Result, len(o.Seeds))
	}
	type job struct{ p, s int }
	jobs := make(chan job)
	errs := make([]error, len(o.Policies)*len(o.Seeds))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done, all := 0, len(o.Policies)*len(o.Seeds)
	start := time.Now()
	progress := func(j job, r Result, err error) {
		if o.Progress == nil || all < 2 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		done++
		msg := fmt.Sprintf("%.2f%% allocated at 100%% arrived", r.At[1])
		if err != nil {
			msg = "failed: " + err.Error()
		} else if !r.Reached[1] {
			msg = "100% arrived never reached"
		}
		fmt.Fprintf(o.Progress, "simulate: %d/%d %s seed %d: %s (%s)\n", done, all, o.Policies[j.p], o.Seeds[j.s], msg, time.Since(start).Round(time.Second))
	}
	for w := 0; w < o.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				pol, err := reg.New(o.Policies[j.p], cfg) // a fresh policy per replay: learners start empty
				if err == nil {
					results[j.p][j.s], err = ReplayWith(t.Nodes, t.Pods, orders[j.s], pol, o.Seeds[j.s], ReplayOptions{Ties: o.Ties, Sampling: o.Sampling, CPUPods: o.CPUPods})
				}
				errs[j.p*len(o.Seeds)+j.s] = err
				progress(j, results[j.p][j.s], err)
			}
		}()
	}
	for p := range o.Policies {
		for s := range o.Seeds {
			jobs <- job{p, s}
		}
	}
	close(jobs)
	wg.Wait()
	return results, errors.Join(errs...)
}

// writePlotFile draws every policy's mean curve into o.Plot.
func writePlotFile(o Options, results [][]Result) error {
	series := make([]Series, len(o.Policies))
	for p, name := range o.Policies {
		series[p] = MeanCurve(name, results[p])
	}
	title := fmt.Sprintf("GPU allocation against arrival (mean of the seeds)\n%s on %s, %s %s, ties to %s",
		strings.TrimSuffix(filepath.Base(o.PodsFile), ".csv"), strings.TrimSuffix(filepath.Base(o.NodesFile), ".csv"),
		plural(len(o.Seeds), "seed", "seeds"), seedsString(o.Seeds), o.Ties)
	f, err := os.Create(o.Plot)
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	if err := WritePlot(f, title, series); err != nil {
		f.Close()
		return fmt.Errorf("--plot %s: %w", o.Plot, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--plot %s: %w", o.Plot, err)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writeLimits prints the limit at 100% arrived of every seed, one JSON
// object per line.
func (t *Trace) writeLimits(o Options, reg *placement.Registry, cfg placement.Config, stdout io.Writer) error {
	capacity := t.Capacity()
	for _, seed := range o.Seeds {
		var packers []placement.Policy
		for _, name := range []string{placement.PolicyBestFit, placement.PolicyFGD, placement.PolicyAuto} {
			p, err := reg.New(name, cfg)
			if err != nil {
				return err
			}
			packers = append(packers, p)
		}
		l, err := ComputeLimit(t.Nodes, t.Pods, Arrivals(t.Pods, capacity, seed, o.Inflate), 100, packers...)
		if err != nil {
			return err
		}
		var tried strings.Builder
		for i, p := range l.Tried {
			if i > 0 {
				tried.WriteByte(',')
			}
			fmt.Fprintf(&tried, "%q:%s", p.By, num(p.Allocation))
		}
		fmt.Fprintf(stdout, `{"limit":{"seed":%d,"arrived_pods":%d,"arrived":%s,"offline":%s,"offline_by":%q,"tried":{%s},"upper_bound":%s}}`+"\n",
			seed, l.ArrivedPods, num(float64(l.ArrivedMilli)*100/float64(capacity)), num(l.Offline), l.OfflineBy, tried.String(), num(l.UpperBound))
	}
	return nil
}

// ReplayOrder replays one policy with one seed over order — the arrival
// order of o.Inflate for that seed, or a part of it (PrefixUntil) — the way
// Run does, with o's ties, sampling and auto options and the node of every
// pod recorded (Result.Nodes), for a comparison pod by pod.
func (t *Trace) ReplayOrder(o Options, reg *placement.Registry, policy string, seed int64, order []int) (Result, error) {
	o.setDefaults()
	cfg := placement.Config{Workload: t.TraceWorkload(o.FGDCoverage), Auto: o.Auto}
	pol, err := reg.New(policy, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("%w: --policy: %w", ErrUsage, err)
	}
	return ReplayWith(t.Nodes, t.Pods, order, pol, seed, ReplayOptions{Ties: o.Ties, Sampling: o.Sampling, CPUPods: o.CPUPods, Record: true})
}
