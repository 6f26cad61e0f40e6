package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// Bounds of the setup: a cold 2-core machine may be slow, a healthy one is ready in
// seconds.
const (
	readyLimit   = 90 * time.Second
	pollInterval = 100 * time.Millisecond
	stopGrace    = 5 * time.Second
)

// gpuplanePrograms are the programs the demo runs from the bin directory.
func gpuplanePrograms() []string { return []string{"webhook", "extender", "nodeagent"} }

// env is everything the demo started; tearDown stops it.
type env struct {
	root, binDir string
	out          io.Writer
	began        time.Time
	cat          *catalog.Catalog
	cluster      *cluster.Cluster
	client       kubernetes.Interface
	procs        []*process

	// The configurations of deploy/ the demo loaded.
	schedulerConfig configFile
	webhookConfigs  []configFile
}

// setUp starts the control plane, the nodes, gpuplane's programs and kube-scheduler,
// and returns once all of them are ready. The env is returned even on error: its
// tearDown stops what did start.
func setUp(ctx context.Context, root, binDir string, out io.Writer) (*env, error) {
	e := &env{root: root, binDir: binDir, out: out, began: time.Now(), cat: catalog.Default()}
	for _, p := range gpuplanePrograms() {
		if _, err := os.Stat(filepath.Join(binDir, p)); err != nil {
			return e, fmt.Errorf("%s is not built in %s: `make demo` builds it (or go build -o %s/ ./cmd/%s)", p, binDir, binDir, p)
		}
	}
	c, err := cluster.Start(ctx, cluster.Options{BinDir: binDir})
	if err != nil {
		return e, err
	}
	e.cluster, e.client = c, c.Client()
	e.logf("control plane: etcd and kube-apiserver at %s", c.Host())
	if err := e.addNodes(ctx); err != nil {
		return e, err
	}
	// Everything starts at once; the waits below then cost the slowest start, not the sum.
	agents, err := e.startNodeAgents()
	if err != nil {
		return e, err
	}
	webhook, webhookURL, err := e.startWebhook(ctx)
	if err != nil {
		return e, err
	}
	extender, extenderAddr, err := e.startExtender()
	if err != nil {
		return e, err
	}
	if err := e.waitNodes(ctx, agents); err != nil {
		return e, err
	}
	if err := e.waitWebhook(ctx, webhook, webhookURL); err != nil {
		return e, err
	}
	if err := e.waitExtender(ctx, extender, extenderAddr); err != nil {
		return e, err
	}
	return e, e.startScheduler(ctx, extenderAddr)
}

// tearDown stops gpuplane's programs, then the control plane, which removes its
// directory (logs, certificates, the agents' host directories).
func (e *env) tearDown() error {
	var errs []error
	for i := len(e.procs) - 1; i >= 0; i-- {
		errs = append(errs, e.procs[i].stop(stopGrace))
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.Stop())
	}
	return errors.Join(errs...)
}

// logf prints a setup step with the time since the demo began.
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.out, "[%5.1fs] %s\n", time.Since(e.began).Seconds(), fmt.Sprintf(format, args...))
}

func (e *env) addNodes(ctx context.Context) error {
	for _, ns := range []string{systemNamespace, demoNamespace} {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if _, err := e.client.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	var names, capacities []string
	for _, n := range demoNodes() {
		capacity, err := n.capacity(e.cat)
		if err != nil {
			return err
		}
		if _, err := e.cluster.AddGPUNode(ctx, cluster.NodeSpec{Name: n.name, Labels: n.labels, Capacity: capacity}); err != nil {
			return err
		}
		names = append(names, n.describe())
		capacities = append(capacities, n.name+" "+formatResources(capacity))
	}
	e.logf("nodes: %s", strings.Join(names, ", "))
	e.logf("  no device plugin or gpu-manager runs here: the demo sets the nodes' capacity as they would:\n"+
		"         %s", strings.Join(capacities, "; "))
	return nil
}

// run starts one of gpuplane's programs, logging into the cluster's directory.
func (e *env) run(name, program string, args ...string) (*process, error) {
	p, err := startProcess(name, filepath.Join(e.binDir, program), args, filepath.Join(e.cluster.Dir(), name+".log"))
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// startNodeAgents runs an agent per node on described cards. It writes no runtime
// files (--configure-runtime=false) and looks for them under a directory of its own,
// not on this machine's /etc.
func (e *env) startNodeAgents() ([]*process, error) {
	var agents []*process
	for _, n := range demoNodes() {
		hostRoot := filepath.Join(e.cluster.Dir(), "host-"+n.name)
		if err := os.Mkdir(hostRoot, 0o700); err != nil {
			return nil, fmt.Errorf("creating the host directory of %s: %w", n.name, err)
		}
		args := []string{
			"--kubeconfig=" + e.cluster.KubeconfigPath(),
			"--node-name=" + n.name,
			"--fake-devices=" + n.fakeDevices(),
			"--configure-runtime=false",
			"--host-root=" + hostRoot,
			"--metrics-bind-address=0",
			"--health-probe-bind-address=0",
		}
		if n.vgpu {
			args = append(args, "--vgpu")
		}
		p, err := e.run("nodeagent-"+n.name, "nodeagent", args...)
		if err != nil {
			return nil, err
		}
		agents = append(agents, p)
	}
	return agents, nil
}

// startWebhook registers deploy's webhook configurations, pointed at a port on
// 127.0.0.1, and runs the webhook in its self-signed mode: it creates its CA and
// serving certificate (for 127.0.0.1) in a Secret and writes the CA into the
// configurations' caBundle, as in a cluster. The configurations go first, since the
// webhook writes the caBundle of those it finds.
func (e *env) startWebhook(ctx context.Context) (*process, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	healthPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	mutating, err := readConfig(e.root, mutatingConfigPath)
	if err != nil {
		return nil, "", err
	}
	validating, err := readConfig(e.root, validatingConfigPath)
	if err != nil {
		return nil, "", err
	}
	e.webhookConfigs = []configFile{mutating, validating}
	mwc, err := mutatingConfiguration(mutating.data, base)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", mutating.Path, err)
	}
	vwc, err := validatingConfiguration(validating.data, base)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", validating.Path, err)
	}
	reg := e.client.AdmissionregistrationV1()
	if _, err := reg.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		return nil, "", fmt.Errorf("registering %s: %w", mutating.Path, err)
	}
	if _, err := reg.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		return nil, "", fmt.Errorf("registering %s: %w", validating.Path, err)
	}
	p, err := e.run("webhook", "webhook",
		"--kubeconfig="+e.cluster.KubeconfigPath(),
		"--self-signed",
		"--namespace="+systemNamespace,
		"--webhook-config-name="+mwc.Name,
		"--cert-ip-addresses=127.0.0.1",
		"--host=127.0.0.1",
		"--port="+strconv.Itoa(port),
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(healthPort),
		"--scheduler-name="+schedulerName,
	)
	return p, base, err
}

func (e *env) startExtender() (*process, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := e.run("extender", "extender",
		"--kubeconfig="+e.cluster.KubeconfigPath(),
		"--listen="+addr,
	)
	return p, addr, err
}

// startScheduler runs kube-scheduler with deploy's configuration, its extender's
// address replaced by the one the extender listens on here.
func (e *env) startScheduler(ctx context.Context, extenderAddr string) error {
	f, err := readConfig(e.root, schedulerConfigPath)
	if err != nil {
		return err
	}
	e.schedulerConfig = f
	config, from, err := withExtenderAddress(f.data, extenderAddr)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if _, err := e.cluster.StartScheduler(ctx, cluster.SchedulerOptions{Config: config}); err != nil {
		return err
	}
	e.logf("kube-scheduler: %s (sha256 %.12s), profile %s, extender %s -> %s",
		f.Path, f.SHA256, schedulerName, from, extenderAddr)
	return nil
}

// waitNodes waits until every agent has labelled its node and written its cards.
func (e *env) waitNodes(ctx context.Context, agents []*process) error {
	err := e.poll(ctx, "the node agents", agents, func(ctx context.Context) (bool, string) {
		for _, n := range demoNodes() {
			node, err := e.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if node.Labels[e.cat.Labels.GPUType] != n.typ || node.Annotations[api.AnnotationDevices] == "" {
				return false, fmt.Sprintf("node %s has no %s=%s label or %s annotation yet", n.name, e.cat.Labels.GPUType, n.typ, api.AnnotationDevices)
			}
		}
		return true, ""
	})
	if err == nil {
		var vgpu []string
		for _, n := range demoNodes() {
			if n.vgpu {
				vgpu = append(vgpu, n.name)
			}
		}
		e.logf("node agents (--fake-devices instead of NVML): every node labelled %s=true, %s=<type> (%s=true on %s), cards in %s",
			e.cat.Labels.GPU, e.cat.Labels.GPUType, e.cat.Labels.VGPU, strings.Join(vgpu, ", "), api.AnnotationDevices)
	}
	return err
}

// waitWebhook waits until the API server calls the webhook successfully: a dry-run
// pod with a GPU request passes through it once the caBundle is written and the API
// server has picked it up.
func (e *env) waitWebhook(ctx context.Context, p *process, base string) error {
	probe := newPod("webhook-probe", request{gpu: "1"})
	err := e.poll(ctx, "the webhook", []*process{p}, func(ctx context.Context) (bool, string) {
		_, err := e.client.CoreV1().Pods(demoNamespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err == nil {
		e.logf("webhook (--self-signed): %s and %s registered, service %s/gpuplane-webhook replaced by %s",
			e.webhookConfigs[0].Path, e.webhookConfigs[1].Path, systemNamespace, base)
	}
	return err
}

// waitExtender waits until the extender is ready and its state holds every node's
// cards as the node agents described them (with their UUIDs), so that no request
// meets an extender that has not yet seen a node's devices.
func (e *env) waitExtender(ctx context.Context, p *process, addr string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := e.poll(ctx, "the extender", []*process{p}, func(ctx context.Context) (bool, string) {
		if _, err := httpGet(ctx, client, "http://"+addr+"/readyz"); err != nil {
			return false, err.Error()
		}
		body, err := httpGet(ctx, client, "http://"+addr+"/state")
		if err != nil {
			return false, err.Error()
		}
		var state struct {
			Nodes []extenderNode `json:"nodes"`
		}
		if err := json.Unmarshal(body, &state); err != nil {
			return false, fmt.Sprintf("/state: %v", err)
		}
		for _, n := range demoNodes() {
			i := slices.IndexFunc(state.Nodes, func(v extenderNode) bool {
				return v.Name == n.name
			})
			if i < 0 || len(state.Nodes[i].Cards) != n.cards || state.Nodes[i].Cards[0].UUID == "" {
				return false, fmt.Sprintf("/state does not show the %d cards of %s yet: %s", n.cards, n.name, body)
			}
		}
		return true, ""
	})
	if err == nil {
		e.logf("extender: ready on %s, the cards of every node in its state", addr)
	}
	return err
}

// extenderNode is a node of the extender's GET /state, as far as the demo reads it.
type extenderNode struct {
	Name  string `json:"name"`
	Cards []struct {
		UUID string `json:"uuid"`
	} `json:"cards"`
}

// httpGet returns the body of a 200 answer to GET url.
func httpGet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", url, resp.Status, body)
	}
	return body, nil
}

// poll calls ready until it says so, one of procs exits, ctx ends or readyLimit
// passes; the error then carries ready's last word or the program's log.
func (e *env) poll(ctx context.Context, what string, procs []*process, ready func(context.Context) (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, readyLimit)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		for _, p := range procs {
			if err := p.failed(); err != nil {
				return err
			}
		}
		ok, detail := ready(ctx)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%w): %s", what, time.Since(e.began).Round(time.Second), ctx.Err(), detail)
		case <-tick.C:
		}
	}
}

// logTails returns the end of each program's log, for a demo that failed.
func (e *env) logTails() string {
	var b strings.Builder
	for _, p := range e.procs {
		fmt.Fprintf(&b, "--- end of %s's log ---\n%s\n", p.name, fileTail(p.logPath, 1500))
	}
	return b.String()
}
