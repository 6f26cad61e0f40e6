package perf

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// ExtenderScaleOptions say how to measure the extender at scale.
type ExtenderScaleOptions struct {
	// NodeCounts are the cluster sizes. Default 1,000, 5,000 and 10,000.
	NodeCounts []int
	// Pods is the number of running pods in each cluster. Default 40,000.
	Pods int
	// PodsPerRepeat is how many pods one repeat schedules (a filter and a
	// prioritize call each), after Warmup more. Default 200 and 20.
	PodsPerRepeat, Warmup int
	// Repeats is how many times each size is measured, each with a fresh
	// extender process. Default 3.
	Repeats int
	// Policy of the extender. Default "auto".
	Policy string
	// GoalNodes is the size the latency goal applies to. Default 5,000.
	GoalNodes int
	// ProfileNodes is the size at which a CPU and a heap profile are taken
	// after the repeats, for ProfileSeconds (default 10); 0 takes none.
	ProfileNodes   int
	ProfileSeconds int
	RunEnv
	// Seed makes the clusters reproducible.
	Seed uint64
}

func (o *ExtenderScaleOptions) setDefaults() error {
	if len(o.NodeCounts) == 0 {
		o.NodeCounts = []int{1000, 5000, 10000}
	}
	o.Pods = cmp.Or(o.Pods, 40000)
	o.PodsPerRepeat = cmp.Or(o.PodsPerRepeat, 200)
	o.Warmup = cmp.Or(o.Warmup, 20)
	o.Repeats = cmp.Or(o.Repeats, 3)
	o.Policy = cmp.Or(o.Policy, "auto")
	o.GoalNodes = cmp.Or(o.GoalNodes, 5000)
	o.ProfileSeconds = cmp.Or(o.ProfileSeconds, 10)
	o.Seed = cmp.Or(o.Seed, 1)
	return o.RunEnv.setDefaults("extender scale run")
}

// queryRequests are the GPU requests of the pods being scheduled, in turn:
// whole cards of any type, of two types, four cards, and half a card.
var queryRequests = []string{"1", "2(V100|A100)", "4", "0.5"}

// sizeRun collects one cluster size's repeats.
type sizeRun struct {
	filterP50, filterP99, prioP50, prioP99, podP50, podP99    []float64
	defaultP50, defaultP99                                    []float64
	bestP50, bestP99, bestCPU, bestDefaultP50, bestDefaultP99 []float64
	fitMedian, sync, rssSync, rssLoad, rssPeak, heapLive      []float64
	cpuPerPod                                                 []float64
}

// RunExtenderScale measures filter and prioritize over HTTP against
// clusters of o.NodeCounts nodes with o.Pods running pods each, fed to a
// separate extender process through its informers (FakeAPI).
func RunExtenderScale(ctx context.Context, o ExtenderScaleOptions) ([]Figure, []string, []string, error) {
	if err := o.setDefaults(); err != nil {
		return nil, nil, nil, err
	}
	var figs []Figure
	var notes, profiles []string
	for _, n := range o.NodeCounts {
		fleet, err := BuildFleet(FleetOptions{Nodes: n, Pods: o.Pods, Seed: o.Seed})
		if err != nil {
			return nil, nil, nil, err
		}
		api, err := NewFakeAPI(fleet)
		if err != nil {
			return nil, nil, nil, err
		}
		nodeBytes, podBytes := api.Bytes()
		notes = append(notes, fmt.Sprintf("%d nodes: %d cards, %d running pods of which %d hold cards or shares (%.0f%% of the cards allocated); objects as served: nodes %.1f MiB, pods %.1f MiB of JSON.",
			n, n*CardsPerNode, len(fleet.Pods), fleet.GPUPods, float64(fleet.AllocatedMilli)/float64(n*CardsPerNode*10),
			float64(nodeBytes)/(1<<20), float64(podBytes)/(1<<20)))
		names := make([]string, n)
		for i, node := range fleet.Nodes {
			names[i] = node.Name
		}
		fleet = nil // the encoded objects are all the server needs
		srv, addr, err := serveLoopback(api)
		if err != nil {
			return nil, nil, nil, err
		}
		run := &sizeRun{}
		for rep := 0; rep < o.Repeats; rep++ {
			profile := rep == o.Repeats-1 && n == o.ProfileNodes
			p, err := o.measureOnce(ctx, addr, names, rep, run, profile)
			profiles = append(profiles, p...)
			if err != nil {
				api.Close()
				_ = srv.Close()
				return nil, nil, nil, fmt.Errorf("%d nodes, repeat %d: %w", n, rep+1, err)
			}
		}
		api.Close()
		_ = srv.Close()
		figs = append(figs, run.figures(n, o.GoalNodes)...)
	}
	return figs, notes, profiles, nil
}

// measureOnce starts an extender on the fake API server, measures one
// repeat, and stops it.
func (o *ExtenderScaleOptions) measureOnce(ctx context.Context, apiAddr string, names []string, rep int, run *sizeRun, profile bool) ([]string, error) {
	n := len(names)
	logPath := filepath.Join(o.LogDir, fmt.Sprintf("extender-%d-%d.log", n, rep+1))
	c, stdout, err := startChild("extender", o.Executable,
		[]string{"serve-extender", "--server", "http://" + apiAddr, "--policy", o.Policy}, logPath)
	if err != nil {
		return nil, err
	}
	defer c.stop(10 * time.Second)
	var ready ExtenderReady
	if err := c.readReady(ctx, stdout, 10*time.Minute, &ready); err != nil {
		return nil, err
	}
	if ready.Nodes != int64(n) {
		return nil, fmt.Errorf("the extender knows %d nodes after its sync, want %d", ready.Nodes, n)
	}
	mem, err := ReadProcessMemory(c.Pid())
	if err != nil {
		return nil, err
	}
	run.sync = append(run.sync, ready.SyncSeconds)
	run.rssSync = append(run.rssSync, mem.RSS)
	o.Logf("extender: %d nodes, repeat %d: synced %d bound pods in %.1fs, RSS %.0f MiB", n, rep+1, ready.BoundPods, ready.SyncSeconds, mem.RSS)

	cl := newExtenderClient(ready.Address, ready.Debug)
	queries, err := queryPods(o.PodsPerRepeat + o.Warmup)
	if err != nil {
		return nil, err
	}
	all := names
	if _, _, _, _, err := cl.schedule(ctx, queries[:o.Warmup], func(int) []string { return all }); err != nil {
		return nil, err
	}
	cpuBefore, err := ProcessCPU(c.Pid())
	if err != nil {
		return nil, err
	}
	filter, prio, pod, fits, err := cl.schedule(ctx, queries[o.Warmup:], func(int) []string { return all })
	if err != nil {
		return nil, err
	}
	cpuAfter, err := ProcessCPU(c.Pid())
	if err != nil {
		return nil, err
	}
	run.cpuPerPod = append(run.cpuPerPod, Millis(cpuAfter-cpuBefore)/float64(pod.Len()))
	run.filterP50 = append(run.filterP50, Millis(filter.Percentile(50)))
	run.filterP99 = append(run.filterP99, Millis(filter.Percentile(99)))
	run.prioP50 = append(run.prioP50, Millis(prio.Percentile(50)))
	run.prioP99 = append(run.prioP99, Millis(prio.Percentile(99)))
	run.podP50 = append(run.podP50, Millis(pod.Percentile(50)))
	run.podP99 = append(run.podP99, Millis(pod.Percentile(99)))
	run.fitMedian = append(run.fitMedian, float64(fits))

	// The candidates kube-scheduler sends by default: the first nodes that
	// pass its own filters, as many as percentageOfNodesToScore allows,
	// from a start that moves on with every pod.
	k := DefaultCandidates(n)
	window := func(i int) []string {
		start := (i * 7919) % n
		out := make([]string, 0, k)
		for j := 0; j < k; j++ {
			out = append(out, names[(start+j)%n])
		}
		return out
	}
	_, _, dpod, _, err := cl.schedule(ctx, queries[o.Warmup:], window)
	if err != nil {
		return nil, err
	}
	run.defaultP50 = append(run.defaultP50, Millis(dpod.Percentile(50)))
	run.defaultP99 = append(run.defaultP99, Millis(dpod.Percentile(99)))

	// The shipped configuration: one filter-best call per pod.
	cpuBefore, err = ProcessCPU(c.Pid())
	if err != nil {
		return nil, err
	}
	best, err := cl.scheduleBest(ctx, queries[o.Warmup:], func(int) []string { return all })
	if err != nil {
		return nil, err
	}
	cpuAfter, err = ProcessCPU(c.Pid())
	if err != nil {
		return nil, err
	}
	run.bestCPU = append(run.bestCPU, Millis(cpuAfter-cpuBefore)/float64(best.Len()))
	run.bestP50 = append(run.bestP50, Millis(best.Percentile(50)))
	run.bestP99 = append(run.bestP99, Millis(best.Percentile(99)))
	dbest, err := cl.scheduleBest(ctx, queries[o.Warmup:], window)
	if err != nil {
		return nil, err
	}
	run.bestDefaultP50 = append(run.bestDefaultP50, Millis(dbest.Percentile(50)))
	run.bestDefaultP99 = append(run.bestDefaultP99, Millis(dbest.Percentile(99)))

	var profiles []string
	if profile {
		p, err := o.takeProfiles(ctx, cl, queries, all, n)
		if err != nil {
			return nil, err
		}
		profiles = p
	}
	mem, err = ReadProcessMemory(c.Pid())
	if err != nil {
		return nil, err
	}
	heap, err := cl.heap(ctx)
	if err != nil {
		return nil, err
	}
	run.rssLoad = append(run.rssLoad, mem.RSS)
	run.rssPeak = append(run.rssPeak, mem.Peak)
	run.heapLive = append(run.heapLive, heap.HeapLiveMiB)
	o.Logf("extender: %d nodes, repeat %d: per pod p50 %.2f ms p99 %.2f ms, CPU %.2f ms (default candidates %d: p99 %.2f ms); "+
		"filter-best p50 %.2f ms p99 %.2f ms, CPU %.2f ms; RSS %.0f MiB, peak %.0f MiB, live heap %.0f MiB",
		n, rep+1, Millis(pod.Percentile(50)), Millis(pod.Percentile(99)), run.cpuPerPod[len(run.cpuPerPod)-1], k, Millis(dpod.Percentile(99)),
		Millis(best.Percentile(50)), Millis(best.Percentile(99)), run.bestCPU[len(run.bestCPU)-1], mem.RSS, mem.Peak, heap.HeapLiveMiB)
	return profiles, nil
}

// takeProfiles records a CPU profile of the extender while it schedules
// pods against every node with the shipped configuration's single call
// (filter-best), then a heap profile.
func (o *ExtenderScaleOptions) takeProfiles(ctx context.Context, cl *extenderClient, queries []*corev1.Pod, names []string, n int) ([]string, error) {
	cpuPath := filepath.Join(o.WorkDir, fmt.Sprintf("extender-%d.cpu.prof", n))
	errs := make(chan error, 1)
	go func() {
		errs <- cl.download(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(o.ProfileSeconds), cpuPath)
	}()
	deadline := time.Now().Add(time.Duration(o.ProfileSeconds) * time.Second)
	for time.Now().Before(deadline) {
		if _, err := cl.scheduleBest(ctx, queries, func(int) []string { return names }); err != nil {
			return nil, err
		}
	}
	if err := <-errs; err != nil {
		return nil, err
	}
	heapPath := filepath.Join(o.WorkDir, fmt.Sprintf("extender-%d.heap.prof", n))
	if err := cl.download(ctx, "/debug/pprof/heap", heapPath); err != nil {
		return nil, err
	}
	return []string{filepath.Base(cpuPath), filepath.Base(heapPath)}, nil
}

func (r *sizeRun) figures(n, goalNodes int) []Figure {
	g := fmt.Sprintf("%s nodes", thousands(n))
	var latencyGoal *Goal
	if n == goalNodes {
		latencyGoal = AtMost(5)
	}
	return []Figure{
		NewFigure(g, "filter p50, every node a candidate", "ms", r.filterP50, nil),
		NewFigure(g, "filter p99, every node a candidate", "ms", r.filterP99, nil),
		NewFigure(g, "prioritize p50 (the nodes that fit)", "ms", r.prioP50, nil),
		NewFigure(g, "prioritize p99 (the nodes that fit)", "ms", r.prioP99, nil),
		NewFigure(g, "filter + prioritize per pod p50, every node a candidate", "ms", r.podP50, nil),
		NewFigure(g, "filter + prioritize per pod p99, every node a candidate", "ms", r.podP99, latencyGoal),
		NewFigure(g, "extender CPU per pod (filter + prioritize), every node a candidate", "ms", r.cpuPerPod, nil),
		NewFigure(g, fmt.Sprintf("filter + prioritize per pod p50, %d candidates (kube-scheduler's default share)", DefaultCandidates(n)), "ms", r.defaultP50, nil),
		NewFigure(g, fmt.Sprintf("filter + prioritize per pod p99, %d candidates (kube-scheduler's default share)", DefaultCandidates(n)), "ms", r.defaultP99, nil),
		NewFigure(g, "filter-best per pod p50 (one call, as shipped), every node a candidate", "ms", r.bestP50, nil),
		NewFigure(g, "filter-best per pod p99 (one call, as shipped), every node a candidate", "ms", r.bestP99, nil),
		NewFigure(g, "extender CPU per pod (filter-best), every node a candidate", "ms", r.bestCPU, nil),
		NewFigure(g, fmt.Sprintf("filter-best per pod p50, %d candidates (kube-scheduler's default share)", DefaultCandidates(n)), "ms", r.bestDefaultP50, nil),
		NewFigure(g, fmt.Sprintf("filter-best per pod p99, %d candidates (kube-scheduler's default share)", DefaultCandidates(n)), "ms", r.bestDefaultP99, nil),
		NewFigure(g, "nodes that fit, median over the pods", "nodes", r.fitMedian, nil),
		NewFigure(g, "informer sync (start to synced)", "s", r.sync, nil),
		NewFigure(g, "extender RSS after sync", "MiB", r.rssSync, nil),
		NewFigure(g, "extender RSS after the load", "MiB", r.rssLoad, nil),
		NewFigure(g, "extender peak RSS (VmHWM)", "MiB", r.rssPeak, AtMost(300)),
		NewFigure(g, "extender live Go heap after the load", "MiB", r.heapLive, nil),
	}
}

// DefaultCandidates is how many nodes kube-scheduler looks for before it
// stops filtering, with percentageOfNodesToScore left at its default
// (adaptive: 50% less 1% per 125 nodes, at least 5% and 100 nodes), and so
// the most node names it sends the extender.
func DefaultCandidates(n int) int {
	if n < 100 {
		return n
	}
	pct := max(50-n/125, 5)
	return max(n*pct/100, 100)
}

// queryPods are the pods being scheduled: typical GPU pods as the webhook
// admits them, requests in turn.
func queryPods(n int) ([]*corev1.Pod, error) {
	out := make([]*corev1.Pod, n)
	for i := range out {
		p, err := AdmittedPod(fmt.Sprintf("train-%05d", i), queryRequests[i%len(queryRequests)], "gpuplane")
		if err != nil {
			return nil, err
		}
		p.UID = types.UID(fmt.Sprintf("query-%05d", i))
		out[i] = p
	}
	return out, nil
}

// extenderClient calls an extender as kube-scheduler does: JSON over
// keep-alive HTTP, one pod at a time.
type extenderClient struct {
	base, debug string
	client      *http.Client
}

func newExtenderClient(addr, debug string) *extenderClient {
	return &extenderClient{base: "http://" + addr, debug: "http://" + debug, client: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true},
	}}
}

// schedule runs filter then prioritize (on the nodes that fit) for each pod,
// with candidates(i) as the i-th pod's candidate nodes. It returns the
// latency of each verb and of both, and the median count of fitting nodes.
// Encoding the requests and decoding the answers is left out of the timings;
// reading the answer is in.
func (c *extenderClient) schedule(ctx context.Context, pods []*corev1.Pod, candidates func(int) []string) (filter, prio, both *Latencies, fitMedian int, err error) {
	filter, prio, both = NewLatencies(len(pods)), NewLatencies(len(pods)), NewLatencies(len(pods))
	fits := make([]float64, 0, len(pods))
	for i, pod := range pods {
		names := candidates(i)
		body, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		if err != nil {
			return nil, nil, nil, 0, err
		}
		raw, fd, err := c.post(ctx, "/filter", body)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		var fr extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(raw, &fr); err != nil {
			return nil, nil, nil, 0, fmt.Errorf("filter answered %q: %w", truncate(raw), err)
		}
		if fr.Error != "" || fr.NodeNames == nil {
			return nil, nil, nil, 0, fmt.Errorf("filter of %s failed: %q", pod.Name, fr.Error)
		}
		fits = append(fits, float64(len(*fr.NodeNames)))
		body, err = json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: fr.NodeNames})
		if err != nil {
			return nil, nil, nil, 0, err
		}
		raw, pd, err := c.post(ctx, "/prioritize", body)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		var scores extenderv1.HostPriorityList
		if err := json.Unmarshal(raw, &scores); err != nil {
			return nil, nil, nil, 0, fmt.Errorf("prioritize answered %q: %w", truncate(raw), err)
		}
		if len(scores) != len(*fr.NodeNames) {
			return nil, nil, nil, 0, fmt.Errorf("prioritize scored %d nodes of %d", len(scores), len(*fr.NodeNames))
		}
		filter.Add(fd)
		prio.Add(pd)
		both.Add(fd + pd)
	}
	_, med, _ := Spread(fits)
	return filter, prio, both, int(med), nil
}

// scheduleBest runs one filter-best call for each pod, as kube-scheduler
// does with the shipped configuration, and returns their latencies.
func (c *extenderClient) scheduleBest(ctx context.Context, pods []*corev1.Pod, candidates func(int) []string) (*Latencies, error) {
	lat := NewLatencies(len(pods))
	for i, pod := range pods {
		names := candidates(i)
		body, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		if err != nil {
			return nil, err
		}
		raw, d, err := c.post(ctx, "/filter-best", body)
		if err != nil {
			return nil, err
		}
		var fr extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(raw, &fr); err != nil {
			return nil, fmt.Errorf("filter-best answered %q: %w", truncate(raw), err)
		}
		if fr.Error != "" || fr.NodeNames == nil || len(*fr.NodeNames) == 0 {
			return nil, fmt.Errorf("filter-best of %s kept no node: %q", pod.Name, fr.Error)
		}
		lat.Add(d)
	}
	return lat, nil
}

// post sends body and reads the whole answer, timing both.
func (c *extenderClient) post(ctx context.Context, path string, body []byte) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("POST %s: %w", path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	resp.Body.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("POST %s: reading the answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("POST %s: %s: %q", path, resp.Status, truncate(raw))
	}
	return raw, d, nil
}

func (c *extenderClient) heap(ctx context.Context) (HeapStats, error) {
	var h HeapStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.debug+"/debug/heap", nil)
	if err != nil {
		return h, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return h, fmt.Errorf("reading the extender's heap: %w", err)
	}
	defer resp.Body.Close()
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// download saves what GET path of the debug server answers into file.
func (c *extenderClient) download(ctx context.Context, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.debug+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("saving %s: %w", file, err)
	}
	return f.Close()
}

// serveLoopback serves h on a free port of 127.0.0.1.
func serveLoopback(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listening on the loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// thousands writes n with comma separators: 10000 is "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
