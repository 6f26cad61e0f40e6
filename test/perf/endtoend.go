package perf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// EndToEndOptions say how to run kube-scheduler with and without the
// extender on a local control plane.
type EndToEndOptions struct {
	// Nodes and Pods: the cluster's nodes (8 cards each) and the GPU pods
	// each run schedules. Default 1,000 and 2,000.
	Nodes, Pods int
	// Repeats of each variant, alternating which goes first. Default 3.
	Repeats int
	// SchedulerConfig is the KubeSchedulerConfiguration file deploy/ ships.
	SchedulerConfig string
	// BinDir holds etcd, kube-apiserver and kube-scheduler. Default: as
	// test/cluster finds it.
	BinDir string
	// CreateQPS, CreateBurst and CreateWorkers shape the pod creator, which
	// must outpace the scheduler. Default 2,000, 4,000 and 32.
	CreateQPS     float32
	CreateBurst   int
	CreateWorkers int
	// RunTimeout bounds one run's wait for every pod to be bound. Default 5m.
	RunTimeout time.Duration
	// ProfileSeconds, when not 0, is the length of the CPU profiles taken
	// from the start of each variant's last run: its kube-scheduler, and
	// the extender in the extender's run.
	ProfileSeconds int
	// RunEnv: LogDir also receives, when a set fails, the end of every
	// program's log.
	RunEnv
}

func (o *EndToEndOptions) setDefaults() error {
	o.Nodes = cmp.Or(o.Nodes, 1000)
	o.Pods = cmp.Or(o.Pods, 2000)
	o.Repeats = cmp.Or(o.Repeats, 3)
	o.CreateQPS = cmp.Or(o.CreateQPS, 2000)
	o.CreateBurst = cmp.Or(o.CreateBurst, 4000)
	o.CreateWorkers = cmp.Or(o.CreateWorkers, 32)
	o.RunTimeout = cmp.Or(o.RunTimeout, 5*time.Minute)
	if o.SchedulerConfig == "" {
		return errors.New("the end-to-end run needs the scheduler configuration")
	}
	return o.RunEnv.setDefaults("end-to-end run")
}

// The two variants of the end-to-end run.
const (
	variantBaseline = "without extender"
	variantGPUPlane = "with gpuplane extender"
)

// e2eRun is one run's outcome.
type e2eRun struct {
	variant       string
	bound         int
	unschedulable int
	// rate is pods bound per second from the first bind to the last.
	rate float64
	// overall is pods per second from the first creation to the last bind.
	overall     float64
	createRate  float64
	createdLast time.Duration // after the first creation
	boundLast   time.Duration // after the first creation
	cpu         map[string]time.Duration
	// api is what the run cost the API server (requests of everyone,
	// the harness's scrapes included).
	api APICounts
	// sched is the variant's kube-scheduler's own timing of the run.
	sched SchedulerTimes
}

// e2eEnv is the running cluster of the end-to-end run.
type e2eEnv struct {
	o        *EndToEndOptions
	mode     E2EMode
	c        *cluster.Cluster
	client   kubernetes.Interface
	configs  SchedulerConfigs
	procs    map[string]int // name -> pid, for CPU time
	extAddr  string
	extDebug string
	schedCfg map[string]string // variant -> scheduler config path
}

// E2EMode is one set of end-to-end runs on a fresh cluster.
type E2EMode struct {
	// Name labels the figures.
	Name string
	// ClientQPS and ClientBurst, when not 0, replace the API client limits
	// of both kube-schedulers (clientConnection) and of the extender; 0
	// keeps the shipped configuration and the extender's defaults.
	ClientQPS   float32
	ClientBurst int
	// Profile takes the CPU profiles (EndToEndOptions.ProfileSeconds) in
	// this mode's last repeat.
	Profile bool
}

// DefaultE2EModes are the modes make bench runs: as shipped, where
// kube-scheduler's client allows 50 requests per second (one bind each),
// and with the client limits raised so that CPU, not a rate limit, bounds
// both schedulers.
func DefaultE2EModes() []E2EMode {
	return []E2EMode{
		{Name: "as shipped"},
		{Name: "client limits raised", ClientQPS: 1000, ClientBurst: 2000, Profile: true},
	}
}

// RunEndToEnd measures, for each mode on a fresh control plane with o.Nodes
// nodes, the extender (informers on that API server) and two
// kube-schedulers — the shipped configuration, and the same without
// extenders — binding o.Pods GPU pods.
func RunEndToEnd(ctx context.Context, o EndToEndOptions, modes []E2EMode) ([]Figure, []string, []string, string, error) {
	if err := o.setDefaults(); err != nil {
		return nil, nil, nil, "", err
	}
	raw, err := os.ReadFile(o.SchedulerConfig)
	if err != nil {
		return nil, nil, nil, "", fmt.Errorf("reading the scheduler configuration deploy/ ships: %w", err)
	}
	if _, err := MakeSchedulerConfigs(raw, "127.0.0.1:1", 0, 0); err != nil {
		return nil, nil, nil, "", fmt.Errorf("%s: %w", o.SchedulerConfig, err)
	}
	var figs []Figure
	var notes, profiles []string
	for _, m := range modes {
		f, n, p, err := runMode(ctx, &o, m, raw)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("%s: %w", m.Name, err)
		}
		figs, notes, profiles = append(figs, f...), append(notes, n...), append(profiles, p...)
	}
	return figs, notes, profiles, filepath.Join(o.BinDir, "kube-apiserver"), nil
}

func runMode(ctx context.Context, o *EndToEndOptions, m E2EMode, raw []byte) (figs []Figure, notes []string, profiles []string, err error) {
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{BinDir: o.BinDir, StartTimeout: 3 * time.Minute})
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			// The programs' logs go with the cluster's directory: keep their ends.
			path := filepath.Join(o.LogDir, "endtoend-cluster-logs.txt")
			if werr := os.WriteFile(path, []byte(c.LogTails()), 0o644); werr == nil {
				o.Logf("endtoend %s: the end of every program's log is in %s", m.Name, path)
			}
		}
		_ = c.Stop()
	}()
	o.Logf("endtoend %s: control plane up in %s", m.Name, time.Since(start).Round(100*time.Millisecond))
	env := &e2eEnv{o: o, mode: m, c: c, procs: map[string]int{}, schedCfg: map[string]string{}}
	cfg := c.Config()
	cfg.QPS, cfg.Burst = o.CreateQPS, o.CreateBurst
	// Protobuf costs the API server less to decode than JSON, so that the
	// creator keeps ahead of the schedulers.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	if env.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, nil, nil, err
	}
	if err := env.addNodes(ctx); err != nil {
		return nil, nil, nil, err
	}
	ext, err := env.startExtender(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	defer ext.stop(10 * time.Second)
	env.procs["extender"] = ext.Pid()
	if err := env.startSchedulers(ctx, raw); err != nil {
		return nil, nil, nil, err
	}
	env.procs["kube-apiserver"] = findProcess(filepath.Join(c.Dir(), "pki", "apiserver.crt"))
	env.procs["etcd"] = findProcess("etcd", filepath.Join(c.Dir(), "etcd-data"))
	env.procs["load generator"] = os.Getpid()

	var runs []e2eRun
	for rep := 0; rep < o.Repeats; rep++ {
		order := []string{variantBaseline, variantGPUPlane}
		if rep%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, v := range order {
			var prof *e2eProfiles
			if m.Profile && o.ProfileSeconds > 0 && rep == o.Repeats-1 {
				prof = env.newProfiles(v)
			}
			r, err := env.run(ctx, v, fmt.Sprintf("r%d", rep+1), prof)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("repeat %d, %s: %w", rep+1, v, err)
			}
			if prof != nil {
				p, err := prof.wait()
				if err != nil {
					return nil, nil, nil, err
				}
				profiles = append(profiles, p...)
			}
			runs = append(runs, r)
		}
	}
	figs, notes = e2eFigures(runs, m.Name)
	notes = append(notes, env.describe())
	return figs, notes, profiles, nil
}

func (e *e2eEnv) addNodes(ctx context.Context) error {
	start := time.Now()
	cat := catalog.Default()
	jobs := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				typ := fleetTypes[i%len(fleetTypes)]
				t, _ := cat.Type(typ)
				labels, annotations, capacity := NodeMeta(NodeName(i), typ, t.MemoryMiB, false)
				if _, err := e.c.AddGPUNode(ctx, cluster.NodeSpec{Name: NodeName(i), Labels: labels, Annotations: annotations, Capacity: capacity}); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	for i := 0; i < e.o.Nodes; i++ {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	e.o.Logf("endtoend %s: %d nodes added in %s", e.mode.Name, e.o.Nodes, time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (e *e2eEnv) startExtender(ctx context.Context) (*child, error) {
	kubeconfig, err := e.c.WriteKubeconfig("perf-extender", e.c.Config())
	if err != nil {
		return nil, err
	}
	args := []string{"serve-extender", "--kubeconfig", kubeconfig}
	if e.mode.ClientQPS > 0 {
		args = append(args, "--qps", strconv.FormatFloat(float64(e.mode.ClientQPS), 'f', -1, 32), "--burst", strconv.Itoa(e.mode.ClientBurst))
	}
	ch, stdout, err := startChild("extender", e.o.Executable, args, filepath.Join(e.o.LogDir, "endtoend-extender.log"))
	if err != nil {
		return nil, err
	}
	var ready ExtenderReady
	if err := ch.readReady(ctx, stdout, 5*time.Minute, &ready); err != nil {
		ch.stop(5 * time.Second)
		return nil, err
	}
	e.extAddr, e.extDebug = ready.Address, ready.Debug
	e.o.Logf("endtoend %s: extender synced %d nodes in %.1fs at %s", e.mode.Name, ready.Nodes, ready.SyncSeconds, ready.Address)
	return ch, nil
}

func (e *e2eEnv) startSchedulers(ctx context.Context, raw []byte) error {
	var err error
	if e.configs, err = MakeSchedulerConfigs(raw, e.extAddr, e.mode.ClientQPS, e.mode.ClientBurst); err != nil {
		return err
	}
	for _, v := range []struct {
		variant string
		config  []byte
	}{{variantBaseline, e.configs.Without}, {variantGPUPlane, e.configs.WithExtender}} {
		s, err := e.c.StartScheduler(ctx, cluster.SchedulerOptions{Config: v.config})
		if err != nil {
			return fmt.Errorf("starting kube-scheduler %s: %w", v.variant, err)
		}
		e.schedCfg[v.variant] = s.ConfigPath()
		e.procs["kube-scheduler "+v.variant] = findProcess("--config=" + s.ConfigPath())
	}
	e.o.Logf("endtoend %s: schedulers ready; profiles %q and %q", e.mode.Name, e.configs.Profile, e.configs.BaselineProfile)
	return nil
}

// describe says how the run was set up, for the notes.
func (e *e2eEnv) describe() string {
	var exts []string
	for _, x := range e.configs.Extenders {
		var keys []string
		for k := range x {
			if k != "urlPrefix" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, fmt.Sprintf("%s=%v", k, x[k]))
		}
		exts = append(exts, strings.Join(kv, " "))
	}
	limits := "client limits as shipped (kube-scheduler: clientConnection defaults, 50 requests/s, burst 100; extender: its defaults)"
	if e.mode.ClientQPS > 0 {
		limits = fmt.Sprintf("client limits of both kube-schedulers and the extender raised to %.0f requests/s, burst %d", e.mode.ClientQPS, e.mode.ClientBurst)
	}
	return fmt.Sprintf("%s: scheduler profiles %q (shipped configuration, extender URL pointed at the measured extender) and %q (the same without extenders); %s. Extender settings as shipped: %s.",
		e.mode.Name, e.configs.Profile, e.configs.BaselineProfile, limits, strings.Join(exts, "; "))
}

// e2eNamespace holds the pods of the runs.
const e2eNamespace = "default"

// podsFor returns the pods of one run: the same two-container pods asking
// one or two cards in turn, through the webhook for the gpuplane variant,
// as plain nvidia.com/gpu limits for the baseline.
func (e *e2eEnv) podsFor(variant, run string) ([]*corev1.Pod, error) {
	cat := catalog.Default()
	out := make([]*corev1.Pod, e.o.Pods)
	for i := range out {
		p := basePod(fmt.Sprintf("%s-%05d", run, i), "train")
		p.Namespace, p.UID, p.OwnerReferences = e2eNamespace, "", nil
		p.Spec.Volumes = p.Spec.Volumes[1:] // no PersistentVolumeClaim exists here
		p.Spec.Containers[0].VolumeMounts = p.Spec.Containers[0].VolumeMounts[1:]
		p.Labels["perf-run"] = run
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("4Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
		}
		cards := strconv.Itoa(1 + i%2)
		if variant == variantGPUPlane {
			mutated, err := admitted(p, cards, cat, e.configs.Profile)
			if err != nil {
				return nil, err
			}
			out[i] = mutated
			continue
		}
		p.Spec.SchedulerName = e.configs.BaselineProfile
		q := resource.MustParse(cards)
		p.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"] = q
		p.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"] = q
		out[i] = p
	}
	return out, nil
}

// run creates the pods of one run, waits until all are bound, and deletes
// them. prof, when not nil, is started with the pod creation.
func (e *e2eEnv) run(ctx context.Context, variant, id string, prof *e2eProfiles) (e2eRun, error) {
	run := id + "-" + map[string]string{variantBaseline: "base", variantGPUPlane: "gpuplane"}[variant]
	pods, err := e.podsFor(variant, run)
	if err != nil {
		return e2eRun{}, err
	}
	sel := "perf-run=" + run
	obs := newBindObserver(len(pods))
	factory := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithNamespace(e2eNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { obs.see(obj) },
		UpdateFunc: func(_, obj any) { obs.see(obj) },
	}); err != nil {
		return e2eRun{}, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	factory.Start(watchCtx.Done())
	if !cache.WaitForCacheSync(watchCtx.Done(), inf.HasSynced) {
		return e2eRun{}, errors.New("the pod informer did not sync")
	}
	apiBefore, err := ReadAPICounts(ctx, e.client)
	if err != nil {
		return e2eRun{}, err
	}
	schedBefore, err := e.schedulerTimes(ctx, variant)
	if err != nil {
		return e2eRun{}, err
	}
	cpuBefore := e.cpu()
	if prof != nil {
		prof.start(ctx)
	}
	start := time.Now()
	obs.start(start)
	created := make(chan time.Duration, 1)
	createErr := make(chan error, 1)
	go func() {
		if err := e.create(ctx, pods); err != nil {
			createErr <- err
			return
		}
		created <- time.Since(start)
	}()
	var createdAfter time.Duration
	timeout := time.NewTimer(e.o.RunTimeout)
	defer timeout.Stop()
	for done := false; !done; {
		select {
		case <-obs.all:
			done = true
		case d := <-created:
			createdAfter = d
		case err := <-createErr:
			return e2eRun{}, err
		case <-timeout.C:
			n, u := obs.counts()
			return e2eRun{}, fmt.Errorf("%d of %d pods bound after %s (%d reported unschedulable); pending pods say: %s",
				n, len(pods), e.o.RunTimeout, u, e.pendingReasons(ctx, sel))
		case <-ctx.Done():
			return e2eRun{}, ctx.Err()
		}
	}
	stopWatch()
	bound, unschedulable := obs.result()
	if createdAfter == 0 {
		select {
		case createdAfter = <-created:
		case err := <-createErr:
			return e2eRun{}, err
		}
	}
	cpuAfter := e.cpu()
	apiAfter, err := ReadAPICounts(ctx, e.client)
	if err != nil {
		return e2eRun{}, err
	}
	schedAfter, err := e.schedulerTimes(ctx, variant)
	if err != nil {
		return e2eRun{}, err
	}
	times := make([]time.Duration, 0, len(bound))
	for _, d := range bound {
		times = append(times, d)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	first, last := times[0], times[len(times)-1]
	r := e2eRun{
		variant: variant, bound: len(bound), unschedulable: unschedulable,
		rate:        float64(len(times)-1) / (last - first).Seconds(),
		overall:     float64(len(times)) / last.Seconds(),
		createRate:  float64(len(pods)) / createdAfter.Seconds(),
		createdLast: createdAfter, boundLast: last,
		cpu:   map[string]time.Duration{},
		api:   apiAfter.Sub(apiBefore),
		sched: schedAfter.Sub(schedBefore),
	}
	for k, v := range cpuAfter {
		r.cpu[k] = v - cpuBefore[k]
	}
	e.o.Logf("endtoend %s: %s %s: %d pods bound at %.1f pods/s (first to last bind; created at %.0f pods/s, done after %.1fs, last bind after %.1fs); CPU s: %s",
		e.mode.Name, id, variant, r.bound, r.rate, r.createRate, createdAfter.Seconds(), last.Seconds(), formatCPU(r.cpu))
	if err := e.deleteRun(ctx, sel); err != nil {
		return e2eRun{}, err
	}
	return r, nil
}

// pendingReasons summarises why the run's unbound pods wait: their
// PodScheduled conditions, most frequent first.
func (e *e2eEnv) pendingReasons(ctx context.Context, sel string) string {
	list, err := e.client.CoreV1().Pods(e2eNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err.Error()
	}
	count := map[string]int{}
	for _, p := range list.Items {
		if p.Spec.NodeName != "" {
			continue
		}
		why := "no PodScheduled condition"
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				why = c.Reason + ": " + c.Message
			}
		}
		count[why]++
	}
	return PerPod(func() map[string]float64 {
		m := map[string]float64{}
		for k, v := range count {
			m[fmt.Sprintf("%q x", k)] = float64(v)
		}
		return m
	}(), 1, 5)
}

// create creates pods with the creator's workers.
func (e *e2eEnv) create(ctx context.Context, pods []*corev1.Pod) error {
	jobs := make(chan *corev1.Pod)
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range e.o.CreateWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				if _, err := e.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("creating pod %s: %w", p.Name, err) })
				}
			}
		}()
	}
	for _, p := range pods {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// deleteRun removes a run's pods at once (no kubelet would confirm a
// graceful deletion) and waits until they are gone, and a little longer for
// the schedulers and the extender to see it.
func (e *e2eEnv) deleteRun(ctx context.Context, sel string) error {
	pods := e.client.CoreV1().Pods(e2eNamespace)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(0))}, metav1.ListOptions{LabelSelector: sel}); err != nil {
		return fmt.Errorf("deleting the pods of the run: %w", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		left, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
		if err != nil {
			return err
		}
		if len(left.Items) == 0 {
			time.Sleep(3 * time.Second)
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return errors.New("the pods of the run were not deleted within 2 minutes")
}

// cpu reads the CPU time of the programs of the run.
func (e *e2eEnv) cpu() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range e.procs {
		if pid == 0 {
			continue
		}
		if d, err := ProcessCPU(pid); err == nil {
			out[name] = d
		}
	}
	return out
}

func formatCPU(m map[string]time.Duration) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.1f", k, m[k].Seconds())
	}
	return strings.Join(parts, ", ")
}

// e2eProfiles are the CPU profiles taken during one run.
type e2eProfiles struct {
	e       *e2eEnv
	variant string
	wg      sync.WaitGroup
	errs    chan error
	files   []string
}

func (e *e2eEnv) newProfiles(variant string) *e2eProfiles {
	return &e2eProfiles{e: e, variant: variant, errs: make(chan error, 2)}
}

// start takes the profiles in the background: the variant's kube-scheduler,
// and the extender in the extender's run.
func (p *e2eProfiles) start(ctx context.Context) {
	e := p.e
	secs := strconv.Itoa(e.o.ProfileSeconds)
	short := map[string]string{variantBaseline: "without-extender", variantGPUPlane: "with-extender"}[p.variant]
	if e.mode.ClientQPS > 0 {
		short += "-qps" + strconv.Itoa(int(e.mode.ClientQPS))
	}
	pid := e.procs["kube-scheduler "+p.variant]
	schedPath := filepath.Join(e.o.WorkDir, "endtoend-kube-scheduler-"+short+".cpu.prof")
	p.files = append(p.files, filepath.Base(schedPath))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		port := processFlag(pid, "secure-port")
		if port == "" {
			p.errs <- fmt.Errorf("no --secure-port on the command line of kube-scheduler (pid %d)", pid)
			return
		}
		p.errs <- e.schedulerProfile(ctx, port, secs, schedPath)
	}()
	if p.variant != variantGPUPlane {
		return
	}
	extPath := filepath.Join(e.o.WorkDir, "endtoend-extender-"+strings.TrimPrefix(short, "with-extender-")+".cpu.prof")
	p.files = append(p.files, filepath.Base(extPath))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.errs <- newExtenderClient(e.extAddr, e.extDebug).download(ctx, "/debug/pprof/profile?seconds="+secs, extPath)
	}()
}

// wait waits for the profiles and returns their file names.
func (p *e2eProfiles) wait() ([]string, error) {
	p.wg.Wait()
	close(p.errs)
	for err := range p.errs {
		if err != nil {
			return nil, err
		}
	}
	return p.files, nil
}

// schedulerProfile saves a CPU profile of kube-scheduler, asked as the
// cluster's admin over its secure port.
func (e *e2eEnv) schedulerProfile(ctx context.Context, port, secs, path string) error {
	body, err := e.schedulerGet(ctx, port, "/debug/pprof/profile?seconds="+secs)
	if err != nil {
		return fmt.Errorf("profiling kube-scheduler: %w", err)
	}
	defer body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// schedulerGet asks a kube-scheduler's secure port for path as the
// cluster's admin.
func (e *e2eEnv) schedulerGet(ctx context.Context, port, path string) (io.ReadCloser, error) {
	cfg := e.c.Config()
	cfg.Host = "https://127.0.0.1:" + port
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: rt, Timeout: 2 * time.Minute}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp.Body, nil
}

// schedulerTimes reads the histograms of the variant's kube-scheduler.
func (e *e2eEnv) schedulerTimes(ctx context.Context, variant string) (SchedulerTimes, error) {
	pid := e.procs["kube-scheduler "+variant]
	port := processFlag(pid, "secure-port")
	if port == "" {
		return SchedulerTimes{}, fmt.Errorf("no --secure-port on the command line of kube-scheduler (pid %d)", pid)
	}
	body, err := e.schedulerGet(ctx, port, "/metrics")
	if err != nil {
		return SchedulerTimes{}, fmt.Errorf("reading kube-scheduler's metrics: %w", err)
	}
	defer body.Close()
	profile := e.configs.Profile
	if variant == variantBaseline {
		profile = e.configs.BaselineProfile
	}
	return parseSchedulerTimes(body, profile)
}

// e2eFigures turns the runs into figures: per variant the binding rate and
// the CPU each program spent per 1,000 pods, then the ratio per repeat.
func e2eFigures(runs []e2eRun, mode string) ([]Figure, []string) {
	by := map[string][]e2eRun{}
	for _, r := range runs {
		by[r.variant] = append(by[r.variant], r)
	}
	var figs []Figure
	var notes []string
	for _, v := range []string{variantBaseline, variantGPUPlane} {
		rs := by[v]
		var rate, overall, create, unsched, reqs, events, watchMiB []float64
		var algo, plugins, rest []float64
		cpu := map[string][]float64{}
		for _, r := range rs {
			rate = append(rate, r.rate)
			overall = append(overall, r.overall)
			create = append(create, r.createRate)
			unsched = append(unsched, float64(r.unschedulable))
			n := float64(r.bound)
			reqs = append(reqs, Total(r.api.Requests)/n)
			events = append(events, Total(r.api.WatchEvents)/n)
			watchMiB = append(watchMiB, Total(r.api.WatchBytes)/(1<<20)*1000/n)
			if st := r.sched; st.Algorithms > 0 {
				a := st.AlgorithmSeconds * 1000 / st.Algorithms
				p := (st.FilterSeconds + st.ScoreSeconds) * 1000 / st.Algorithms
				algo, plugins, rest = append(algo, a), append(plugins, p), append(rest, a-p)
			}
			for k, d := range r.cpu {
				cpu[k] = append(cpu[k], d.Seconds()*1000/float64(r.bound))
			}
		}
		g := mode + ", " + v
		figs = append(figs,
			NewFigure(g, "pods bound per second (first to last bind)", "pods/s", rate, nil),
			NewFigure(g, "pods bound per second (first creation to last bind)", "pods/s", overall, nil),
			NewFigure(g, "pods created per second (the creator)", "pods/s", create, nil),
			NewFigure(g, "pods reported unschedulable on the way", "pods", unsched, nil),
			NewFigure(g, "API requests per pod (every client)", "requests", reqs, nil),
			NewFigure(g, "watch events sent per pod (every watcher)", "events", events, nil),
			NewFigure(g, "watch data sent per 1,000 pods", "MiB", watchMiB, nil),
			NewFigure(g, "scheduling algorithm per pod, mean (kube-scheduler's histogram: filters, extender calls, scores)", "ms", algo, nil),
			NewFigure(g, "of which kube-scheduler's Filter and Score plugins", "ms", plugins, nil),
			NewFigure(g, "of which the rest: extender calls and the framework around them", "ms", rest, nil),
		)
		if len(rs) > 0 {
			last := rs[len(rs)-1]
			notes = append(notes, fmt.Sprintf("%s: API requests per pod in the last run: %s.", g, PerPod(last.api.Requests, float64(last.bound), 8)))
		}
		keys := make([]string, 0, len(cpu))
		for k := range cpu {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := "CPU per 1,000 pods: " + k
			idle := (strings.HasPrefix(k, "kube-scheduler ") && k != "kube-scheduler "+v) || (k == "extender" && v == variantBaseline)
			if idle {
				name += " (idle in these runs)"
			}
			figs = append(figs, NewFigure(g, name, "s", cpu[k], nil))
		}
	}
	// Ratio per repeat: the runs of one repeat ran back to back.
	var ratio []float64
	base, gp := by[variantBaseline], by[variantGPUPlane]
	for i := 0; i < len(base) && i < len(gp); i++ {
		ratio = append(ratio, gp[i].rate/base[i].rate)
	}
	figs = append(figs, NewFigure(mode+", ratio", "pods/s with the extender ÷ pods/s without, per repeat", "", ratio, AtLeast(0.8)))

	for _, r := range runs {
		if r.createdLast > r.boundLast*8/10 || r.rate > 0.8*r.createRate {
			notes = append(notes, fmt.Sprintf("%s: a %s run finished creating its pods after %.1fs and its last bind came at %.1fs: creation may have limited it.",
				mode, r.variant, r.createdLast.Seconds(), r.boundLast.Seconds()))
		}
	}
	return figs, notes
}

// bindObserver records when each pod of a run is first seen bound, from a
// pod informer's events (an informer, not a bare watch: the API server drops
// a watcher that falls behind, and the informer watches again).
type bindObserver struct {
	mu            sync.Mutex
	want          int
	t0            time.Time
	bound         map[string]time.Duration
	unschedulable map[string]bool
	all           chan struct{}
}

func newBindObserver(want int) *bindObserver {
	return &bindObserver{want: want, bound: map[string]time.Duration{}, unschedulable: map[string]bool{}, all: make(chan struct{})}
}

func (b *bindObserver) start(t0 time.Time) {
	b.mu.Lock()
	b.t0 = t0
	b.mu.Unlock()
}

func (b *bindObserver) see(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Spec.NodeName == "" {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				b.unschedulable[p.Name] = true
			}
		}
		return
	}
	if _, seen := b.bound[p.Name]; seen {
		return
	}
	b.bound[p.Name] = time.Since(b.t0)
	if len(b.bound) == b.want {
		close(b.all)
	}
}

func (b *bindObserver) counts() (bound, unschedulable int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.bound), len(b.unschedulable)
}

func (b *bindObserver) result() (map[string]time.Duration, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bound, len(b.unschedulable)
}
