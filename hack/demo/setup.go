package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// stopGrace is how long a program may take to exit after SIGTERM; they take
// milliseconds.
const stopGrace = 5 * time.Second

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
	procs        []*cluster.Process

	// catPath is the catalog file the programs read: demoCatalog.
	catPath string

	// The configurations of deploy/ the demo loaded.
	schedulerConfig configFile
	webhookConfigs  []configFile
}

// setUp starts the control plane, the nodes, gpuplane's programs and kube-scheduler,
// and returns once all of them are ready. The env is returned even on error: its
// tearDown stops what did start.
func setUp(ctx context.Context, root, binDir string, out io.Writer) (*env, error) {
	e := &env{root: root, binDir: binDir, out: out, began: time.Now()}
	cat, err := catalog.Load(strings.NewReader(demoCatalog))
	if err != nil {
		return e, fmt.Errorf("the demo's catalog: %w", err)
	}
	e.cat = cat
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
	e.catPath = filepath.Join(c.Dir(), "catalog.yaml")
	if err := os.WriteFile(e.catPath, []byte(demoCatalog), 0o600); err != nil {
		return e, fmt.Errorf("writing the demo's catalog: %w", err)
	}
	var pools []string
	for _, p := range e.cat.Pools {
		pools = append(pools, fmt.Sprintf("%s (%s: %s)", p.Name, strings.Join(p.Types, ", "), p.Sharing))
	}
	e.logf("catalog (--catalog of every program): the built-in one with pools %s", strings.Join(pools, ", "))
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
		errs = append(errs, e.procs[i].Stop(stopGrace))
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
	var names, capacities, registered []string
	for _, n := range demoNodes() {
		capacity, err := n.capacity(e.cat)
		if err != nil {
			return err
		}
		annotations, err := n.hamiRegistration(e.cat)
		if err != nil {
			return err
		}
		if annotations != nil {
			registered = append(registered, n.name)
		}
		if _, err := e.cluster.AddGPUNode(ctx, cluster.NodeSpec{Name: n.name, Labels: n.labels, Annotations: annotations, Capacity: capacity}); err != nil {
			return err
		}
		names = append(names, n.describe())
		capacities = append(capacities, n.name+" "+formatResources(capacity))
	}
	e.logf("nodes: %s", strings.Join(names, ", "))
	e.logf("  no device plugin, gpu-manager or HAMi runs here: the demo sets the nodes' capacity as they would:\n"+
		"         %s", strings.Join(capacities, "; "))
	e.logf("  and writes the cards of %s in %s as HAMi's device plugin registers them",
		strings.Join(registered, ", "), hami.AnnotationRegister)
	return nil
}

// run starts one of gpuplane's programs, logging into the cluster's directory.
func (e *env) run(name, program string, args ...string) (*cluster.Process, error) {
	p, err := cluster.StartProcess(name, filepath.Join(e.binDir, program), args, filepath.Join(e.cluster.Dir(), name+".log"))
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// startNodeAgents runs an agent per node on described cards. It writes no runtime
// files (--configure-runtime=false) and looks for them under a directory of its own,
// not on this machine's /etc.
func (e *env) startNodeAgents() ([]*cluster.Process, error) {
	var agents []*cluster.Process
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
		if n.pool != "" {
			// The agent labels the node with the pool and, from the
			// catalog, the pool's sharing backend.
			args = append(args, "--pool="+n.pool, "--catalog="+e.catPath)
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
func (e *env) startWebhook(ctx context.Context) (*cluster.Process, string, error) {
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
		"--placement-resource="+api.ResourcePlacement,
		"--catalog="+e.catPath,
	)
	return p, base, err
}

func (e *env) startExtender() (*cluster.Process, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := e.run("extender", "extender",
		"--kubeconfig="+e.cluster.KubeconfigPath(),
		"--listen="+addr,
		"--catalog="+e.catPath,
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

// logTails returns the end of each program's log, for a demo that failed.
func (e *env) logTails() string {
	var b strings.Builder
	for _, p := range e.procs {
		fmt.Fprintf(&b, "--- end of %s's log ---\n%s\n", p.Name(), p.LogTail(1500))
	}
	return b.String()
}
