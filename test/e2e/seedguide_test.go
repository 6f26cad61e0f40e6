//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/internal/wiretest"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// The install guide gpuplane was made for, as an operator follows it:
//
//  1. driver, CUDA and nvidia-docker2; docker's daemon.json names the NVIDIA
//     runtime by its full path (guideDaemonJSON);
//  2. nodes labelled by hand: gpu=true, gpu-type=V100 or T4, and the roles
//     train=true, service=true, notebook=true (guideNodes);
//  3. the device plugin and gpu-manager advertise the cards (the nodes'
//     capacity here, as no kubelet runs);
//  5. pods ask "1(T4)", "2(V100)" and "1(VGPU)".
//
// gpuplane itself is what `kubectl apply -k deploy/default` installs: each
// program runs with its container's args as deploy/default renders them.

// guideDaemonJSON is step 1's daemon.json, byte for byte as the guide gives it.
const guideDaemonJSON = `{"insecure-registries":["docker.oa.com:8080"], "default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": []}}}` + "\n"

// guideV100Cards are the cards of the V100 node as NVML reports them: 16 GB
// V100s, which the operator labels gpu-type=V100 as the guide says.
const guideV100Cards = `- product: "Tesla V100-SXM2-16GB"
  count: 4
  memoryMiB: 16384
`

// guideLimit bounds each wait of the guide test: programs ready, an agent's
// first pass, a pod bound.
const guideLimit = 90 * time.Second

// guideNode is a GPU machine of the guide: the labels its operator set by
// hand (step 2), its cards (the agent's --fake-devices), and what its device
// plugin advertises (step 3).
type guideNode struct {
	name     string
	labels   map[string]string
	cards    string // --fake-devices: a spec, or a YAML list written to a file
	capacity map[string]string
}

// guideNodes are the three machines of the guide. The vGPU node is set up as
// docs/deploy.md tells the operator: labelled vgpu=true beside gpu=true, its
// cards advertised by gpu-manager instead of the NVIDIA device plugin.
func guideNodes(t *testing.T, cat *catalog.Catalog) []guideNode {
	t.Helper()
	t4, ok := cat.Type("T4")
	if !ok {
		t.Fatal("T4 is not in the built-in catalog")
	}
	whole := cat.DefaultVendor().Resource
	return []guideNode{
		{
			name:     "gpu-t4-1",
			labels:   map[string]string{"gpu": "true", "gpu-type": "T4", "service": "true"},
			cards:    "2xT4",
			capacity: map[string]string{whole: "2"},
		},
		{
			name:     "gpu-v100-1",
			labels:   map[string]string{"gpu": "true", "gpu-type": "V100", "train": "true"},
			cards:    guideV100Cards,
			capacity: map[string]string{whole: "4"},
		},
		{
			name:   "gpu-vgpu-1",
			labels: map[string]string{"gpu": "true", "vgpu": "true", "gpu-type": "T4", "notebook": "true"},
			cards:  "2xT4",
			capacity: map[string]string{
				cat.VGPU.CoreResource:   strconv.Itoa(2 * cat.VGPU.CoresPerCard),
				cat.VGPU.MemoryResource: strconv.FormatInt(2*t4.MemoryMiB/cat.VGPU.MemoryUnitMiB, 10),
			},
		},
	}
}

// guideRequests are step 5's pods and the node each must land on.
var guideRequests = []struct{ name, request, node string }{
	{name: "one-t4", request: "1(T4)", node: "gpu-t4-1"},
	{name: "two-v100", request: "2(V100)", node: "gpu-v100-1"},
	{name: "one-vgpu", request: "1(VGPU)", node: "gpu-vgpu-1"},
}

// guideAgent is one node agent of the test and the host files it sees.
type guideAgent struct {
	node       guideNode
	proc       *faultProc
	health     string
	daemonJSON string
}

// TestSeedGuide follows the install guide literally on a real control plane,
// with gpuplane as deploy/default ships it: the node agents run the rendered
// DaemonSet's args (plus fake cards, the node's name and credentials, and a
// host root holding the guide's daemon.json), the webhook and the extender
// the rendered Deployments' args, kube-scheduler the shipped configuration.
// The guide's three requests must bind, the agents must leave every label
// the operator set as it was, and daemon.json must stay byte for byte the
// guide's.
func TestSeedGuide(t *testing.T) {
	root := repoRoot(t)
	objs := deployRender(t, deployKustomize(t), root, "deploy/default")
	cat := catalog.Default()
	agentBin := faultBuild(t, "cmd/nodeagent")
	webhookBin := faultBuild(t, "cmd/webhook")
	extenderBin := faultBuild(t, "cmd/extender")

	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			createNamespace(ctx, t, client, o.GetName())
		}
	}

	nodes := guideNodes(t, cat)
	for _, n := range nodes {
		if _, err := c.AddGPUNode(ctx, cluster.NodeSpec{Name: n.name, Labels: n.labels, Capacity: n.capacity}); err != nil {
			t.Fatal(err)
		}
	}
	agents := make([]*guideAgent, len(nodes))
	for i, n := range nodes {
		agents[i] = guideStartAgent(t, c, objs, agentBin, n)
	}
	extAddr := guideStartExtender(t, c, objs, extenderBin)
	guideStartScheduler(ctx, t, c, objs, extAddr)
	ns := createNamespace(ctx, t, client, "guide")
	guideStartWebhook(ctx, t, c, objs, webhookBin, ns)

	// Every agent has ended a pass (it is ready) and written its conditions.
	for _, a := range agents {
		faultWaitHTTP(t, a.proc, "http://"+a.health+"/readyz")
		guideWaitConditions(ctx, t, client, a.node.name)
	}
	t.Run("labels after the agents' first pass", func(t *testing.T) {
		guideCheckLabels(ctx, t, client, nodes)
	})

	for _, r := range guideRequests {
		t.Run(r.request, func(t *testing.T) {
			pod := whPod(r.name, r.request, nil)
			pod.Namespace = ns
			if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatalf("creating the pod asking %s: %v", r.request, err)
			}
			node := waitBound(ctx, t, client, pod)
			if node != r.node {
				t.Errorf("the pod asking %s landed on %s, want %s", r.request, node, r.node)
			}
		})
	}

	// The agents kept running through the scheduling; they still leave the
	// operator's labels and the runtime file alone.
	for _, a := range agents {
		if !a.proc.running() {
			t.Errorf("the agent of %s exited", a.node.name)
		}
	}
	t.Run("labels at the end", func(t *testing.T) {
		guideCheckLabels(ctx, t, client, nodes)
	})
	t.Run("daemon.json", func(t *testing.T) {
		for _, a := range agents {
			got, err := os.ReadFile(a.daemonJSON)
			if err != nil {
				t.Errorf("%s: %v", a.node.name, err)
				continue
			}
			if string(got) != guideDaemonJSON {
				t.Errorf("%s: the agent changed the guide's daemon.json:\nwas %q\nnow %q", a.node.name, guideDaemonJSON, got)
			}
		}
	})
}

// guideStartAgent runs the node agent program for n as the rendered
// DaemonSet's container runs on that node. Beside the rendered args it gets
// only: --host-root (a directory standing for the node's file system, with
// the host paths the DaemonSet mounts, nvidia-container-runtime in
// /usr/bin as nvidia-docker2 installs it, and the guide's daemon.json),
// --fake-devices (the node's cards), --kubeconfig (no in-cluster account
// here), and its two listen addresses moved to ports of the loopback the
// kernel picks (the probes' read from its log), as three agents share this
// machine.
func guideStartAgent(t *testing.T, c *cluster.Cluster, objs []*unstructured.Unstructured, bin string, n guideNode) *guideAgent {
	t.Helper()
	ctr, spec := renderedContainer(t, objs, "DaemonSet", "gpuplane-nodeagent", "nodeagent")
	env := renderedEnv(t, ctr, renderedPod{namespace: "gpuplane-system", nodeName: n.name, hostIP: "127.0.0.1"})
	args := renderedArgs(ctr, env)

	hostRoot := filepath.Join(t.TempDir(), "host")
	renderedHostDirs(t, spec, ctr, hostRoot)
	usrBin := filepath.Join(hostRoot, "usr", "bin")
	dockerDir := filepath.Join(hostRoot, "etc", "docker")
	for _, d := range []string{usrBin, dockerDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(usrBin, "nvidia-container-runtime"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	daemonJSON := filepath.Join(dockerDir, "daemon.json")
	if err := os.WriteFile(daemonJSON, []byte(guideDaemonJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	cards := n.cards
	if strings.Contains(cards, "\n") {
		cards = filepath.Join(t.TempDir(), "cards.yaml")
		if err := os.WriteFile(cards, []byte(n.cards), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	args = renderedSetFlag(t, args, "--host-root", hostRoot, true)
	// The kernel picks both ports; the probes' is read from the log. The
	// metrics address is written differently so that it stays a server of
	// its own, as in the DaemonSet.
	args = renderedSetFlag(t, args, "--metrics-bind-address", "127.0.0.1:00", true)
	args = renderedSetFlag(t, args, "--health-probe-bind-address", "127.0.0.1:0", true)
	args = append(args, "--fake-devices="+cards, "--kubeconfig="+c.KubeconfigPath())
	prog, progArgs := renderedWithEnv(t, env, bin, args...)
	p := faultRun(t, "nodeagent-"+n.name, prog, t.TempDir(), progArgs...)
	health, err := wiretest.LoggedAddr(p.log, 0, "Serving health probes", p.done, guideLimit)
	if err != nil {
		t.Fatal(err)
	}
	return &guideAgent{node: n, proc: p, health: health, daemonJSON: daemonJSON}
}

// guideStartExtender runs the extender program with the args of the rendered
// scheduler Deployment's extender container, its three listen addresses moved
// to port 0 of the loopback (the addresses it bound are read from its log),
// and the admin kubeconfig. It returns the address of its extender API.
func guideStartExtender(t *testing.T, c *cluster.Cluster, objs []*unstructured.Unstructured, bin string) string {
	t.Helper()
	ctr, _ := renderedContainer(t, objs, "Deployment", "gpuplane-scheduler", "extender")
	env := renderedEnv(t, ctr, renderedPod{namespace: "gpuplane-system", nodeName: "control-plane", hostIP: "127.0.0.1"})
	args := renderedArgs(ctr, env)
	args = renderedSetFlag(t, args, "--listen", "127.0.0.1:0", true)
	args = renderedSetFlag(t, args, "--probe-bind-address", "127.0.0.1:0", true)
	args = renderedSetFlag(t, args, "--metrics-bind-address", "127.0.0.1:0", true)
	args = append(args, "--kubeconfig="+c.KubeconfigPath())
	prog, progArgs := renderedWithEnv(t, env, bin, args...)
	p := faultRun(t, "extender", prog, t.TempDir(), progArgs...)
	listen, err := wiretest.LoggedAddr(p.log, 0, "Serving the scheduling API", p.done, guideLimit)
	if err != nil {
		t.Fatal(err)
	}
	probes, err := wiretest.LoggedAddr(p.log, 0, "Serving health probes", p.done, guideLimit)
	if err != nil {
		t.Fatal(err)
	}
	faultWaitHTTP(t, p, "http://"+probes+"/readyz")
	return listen
}

// guideStartScheduler starts kube-scheduler with the rendered ConfigMap's
// configuration, its extender's urlPrefix pointing at the local extender.
func guideStartScheduler(ctx context.Context, t *testing.T, c *cluster.Cluster, objs []*unstructured.Unstructured, extAddr string) {
	t.Helper()
	var data string
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" {
			continue
		}
		var cm corev1.ConfigMap
		deployConvert(t, o, &cm)
		if v, ok := cm.Data["scheduler-config.yaml"]; ok {
			data = v
		}
	}
	file, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "base", "scheduler", "scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// extSchedulerConfig edits the file; the rendered ConfigMap must hold it
	// as it is, so the edit applies to what deploy/default installs.
	if data != string(file) {
		t.Fatalf("the rendered scheduler-config.yaml differs from deploy/base/scheduler/scheduler-config.yaml")
	}
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, extAddr)}); err != nil {
		t.Fatal(err)
	}
}

// guideStartWebhook runs the webhook program with the args of the rendered
// webhook Deployment (its ports moved to port 0 of the loopback, the TLS
// address it bound read from its log, serving with a certificate for
// 127.0.0.1, and the admin kubeconfig), registers the rendered webhook
// configurations with the service reference replaced by its URL, and waits
// until the API server calls it.
func guideStartWebhook(ctx context.Context, t *testing.T, c *cluster.Cluster, objs []*unstructured.Unstructured, bin, ns string) {
	t.Helper()
	ctr, _ := renderedContainer(t, objs, "Deployment", "gpuplane-webhook", "webhook")
	env := renderedEnv(t, ctr, renderedPod{namespace: "gpuplane-system", nodeName: "control-plane", hostIP: "127.0.0.1"})
	args := renderedArgs(ctr, env)
	args = renderedSetFlag(t, args, "--port", "0", true)
	// Nothing here reads the webhook's metrics or probes: the kernel picks
	// their ports too.
	args = renderedSetFlag(t, args, "--metrics-bind-address", "127.0.0.1:0", true)
	args = renderedSetFlag(t, args, "--health-probe-bind-address", "127.0.0.1:0", true)
	args = append(args, "--host=127.0.0.1", "--cert-ip-addresses=127.0.0.1",
		"--cert-dir="+t.TempDir(), "--kubeconfig="+c.KubeconfigPath())
	prog, progArgs := renderedWithEnv(t, env, bin, args...)
	p := faultRun(t, "webhook", prog, t.TempDir(), progArgs...)
	addr, err := wiretest.LoggedAddr(p.log, 0, "Serving the admission webhook", p.done, guideLimit)
	if err != nil {
		t.Fatal(err)
	}

	url := "https://" + addr
	client := c.Client()
	for _, o := range objs {
		switch o.GetKind() {
		case "MutatingWebhookConfiguration":
			var m admissionregistrationv1.MutatingWebhookConfiguration
			deployConvert(t, o, &m)
			for i := range m.Webhooks {
				m.Webhooks[i].ClientConfig = whURLConfig(t, m.Webhooks[i].ClientConfig, url)
			}
			if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &m, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		case "ValidatingWebhookConfiguration":
			var v admissionregistrationv1.ValidatingWebhookConfiguration
			deployConvert(t, o, &v)
			for i := range v.Webhooks {
				v.Webhooks[i].ClientConfig = whURLConfig(t, v.Webhooks[i].ClientConfig, url)
			}
			if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &v, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !p.running() {
		t.Fatal("the webhook exited")
	}
	whWaitServing(ctx, t, client, ns)
}

// guideWaitConditions waits until the agent has written its four conditions
// on the node, whatever their status.
func guideWaitConditions(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	var missing []string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, guideLimit, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		missing = slices.DeleteFunc(agentConditions(), func(typ string) bool { return condition(n, typ) != nil })
		return len(missing) == 0, nil
	})
	if err != nil {
		t.Fatalf("node %s: no condition %v after %s: %v", name, missing, guideLimit, err)
	}
}

// guideCheckLabels checks that every label the operator set by hand is on
// its node with the value set.
func guideCheckLabels(ctx context.Context, t *testing.T, client kubernetes.Interface, nodes []guideNode) {
	t.Helper()
	for _, n := range nodes {
		got, err := client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range slices.Sorted(maps.Keys(n.labels)) {
			want := n.labels[k]
			if v, ok := got.Labels[k]; !ok {
				t.Errorf("node %s: label %s=%s, set by hand, was removed%s", n.name, k, want, guideConditionNotes(got))
			} else if v != want {
				t.Errorf("node %s: label %s=%s, set by hand, is now %s=%s%s", n.name, k, want, k, v, guideConditionNotes(got))
			}
		}
	}
}

// guideConditionNotes lists the agent's conditions that are not True, to
// say in a failure what the agent reports.
func guideConditionNotes(n *corev1.Node) string {
	var s string
	for _, typ := range agentConditions() {
		if c := condition(n, typ); c != nil && c.Status != corev1.ConditionTrue {
			s += fmt.Sprintf("\n\t%s=%s %s: %s", typ, c.Status, c.Reason, c.Message)
		}
	}
	return s
}
