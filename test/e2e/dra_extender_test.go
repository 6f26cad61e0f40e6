//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"k8s.io/utils/ptr"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/cmd/webhook/app"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// draExtSetUp starts a control plane with the controllers DRA needs, the extender
// with a catalog whose V100 and A100 nodes allocate by DRA, kube-scheduler with
// deploy's configuration pointing at it, the webhook with the same catalog and
// NVIDIA's DeviceClasses. It adds no node.
func draExtSetUp(t *testing.T) (*cluster.Cluster, kubernetes.Interface, *extRunner, extender.Options, string) {
	t.Helper()
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	if err := c.StartControllerManager(ctx, cluster.ControllerManagerOptions{}); err != nil {
		t.Fatal(err)
	}
	catFile := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(catFile, []byte(draCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := extender.DefaultOptions()
	opts.Catalog = catFile
	ext := extStart(t, c, "127.0.0.1:0", opts)
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	for _, dc := range draDeviceClasses() {
		if _, err := client.ResourceV1().DeviceClasses().Create(ctx, dc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating DeviceClass %s: %v", dc.Name, err)
		}
	}
	createNamespace(ctx, t, client, whNamespace)
	ns := createNamespace(ctx, t, client, "e2e-dra-extender")
	whRegister(ctx, t, client, repoRoot(t), whNowhere(t))
	url, _ := whStartWith(t, c.KubeconfigPath(), func(cfg *app.Config) {
		cfg.Catalog = catFile
		cfg.SchedulerName = extSchedulerName
	})
	whPoint(ctx, t, client, url)
	whWaitServing(ctx, t, client, ns)
	return c, client, ext, opts, ns
}

// draAddV100Node adds a node of the DRA pool with eight V100s its driver publishes,
// each with a UUID of its own.
func draAddV100Node(ctx context.Context, t *testing.T, c *cluster.Cluster, name string) {
	t.Helper()
	n := draNode{name: name, typ: "V100", product: "Tesla V100-SXM2-32GB", arch: "Volta", cc: "7.0.0", cards: 8, memory: "32Gi"}
	if _, err := c.AddGPUNode(ctx, cluster.NodeSpec{Name: name, Labels: map[string]string{
		"gpu": "true", "gpu-type": "V100", "gpuplane.io/pool": "dra"}}); err != nil {
		t.Fatal(err)
	}
	s := n.slice()
	for i := range s.Spec.Devices {
		s.Spec.Devices[i].Attributes["uuid"] = resourcev1.DeviceAttribute{StringValue: ptr.To(fmt.Sprintf("GPU-%s-%d", name, i))}
	}
	if _, err := c.Client().ResourceV1().ResourceSlices().Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatalf("publishing the slice of %s: %v", name, err)
	}
}

var extBoundRE = regexp.MustCompile(`(?m)^gpuplane_extender_binds_total\{result="bound"\} (\d+)$`)

// extBinds is the extender's count of successful binds.
func extBinds(t *testing.T, ext *extRunner) int {
	t.Helper()
	m := extBoundRE.FindStringSubmatch(ext.get(t, "/metrics"))
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatalf("gpuplane_extender_binds_total %q: %v", m[1], err)
	}
	return n
}

// extFilterBest asks the extender's filter-best, as kube-scheduler does, and
// returns the one node it answers.
func extFilterBest(t *testing.T, ext *extRunner, pod *corev1.Pod, nodes []string) string {
	t.Helper()
	body, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: &nodes})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post("http://"+ext.addr+"/filter-best", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res extenderv1.ExtenderFilterResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("filter-best answered %s: %v", raw, err)
	}
	if res.NodeNames == nil || len(*res.NodeNames) != 1 {
		t.Fatalf("filter-best answered %s, want one node", raw)
	}
	return (*res.NodeNames)[0]
}

// TestDRAExtenderSteersInScheduler runs a DRA pod through the real kube-scheduler
// with deploy's scheduler configuration and the extender: on two V100 nodes of a
// DRA pool, one of them half full, the pod's claim is allocated on the node the
// extender chooses, which is the node it chooses for the same request in the
// device-plugin form on device-plugin nodes with the same load; and the extender
// binds the pod, so kube-scheduler did ask it.
func TestDRAExtenderSteersInScheduler(t *testing.T) {
	c, client, ext, _, ns := draExtSetUp(t)
	ctx := t.Context()
	// The fuller node is the first by name: kube-scheduler's own scores tie on
	// these nodes and the extender's filter-best answers the first name among
	// equals, so a pod on the other node is there by the extender's ranking.
	for _, name := range []string{"dra-a", "dra-b"} {
		draAddV100Node(ctx, t, c, name)
	}
	cat := catalog.Default()
	for _, name := range []string{"dp-a", "dp-b"} {
		if _, err := c.AddGPUNode(ctx, extNode{name: name, cards: 8, typ: "V100"}.spec(t, cat)); err != nil {
			t.Fatal(err)
		}
	}

	// The same load on both forms' first node: four of its eight cards.
	holder := whPod("holder", "4(V100)", nil)
	holder.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "dra-a"}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, holder, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if claim := draAllocation(ctx, t, client, ns, "holder"); len(claim.Status.Allocation.Devices.Results) != 4 {
		t.Fatalf("the holder's claim holds %d devices, want 4", len(claim.Status.Allocation.Devices.Results))
	}
	dpHolder, err := webhook.Mutate(whPod("dp-holder", "4(V100)", nil), cat, webhook.Options{SchedulerName: extSchedulerName})
	if err != nil {
		t.Fatal(err)
	}
	dpHolder.Spec.NodeName = "dp-a"
	if _, err := client.CoreV1().Pods(ns).Create(ctx, dpHolder, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The extender's choice for the device-plugin form, once it has seen the
	// holder on dp-a.
	probe, err := webhook.Mutate(whPod("probe", "1(V100)", nil), cat, webhook.Options{SchedulerName: extSchedulerName})
	if err != nil {
		t.Fatal(err)
	}
	probe.Namespace = ns
	// Asked once the extender's state has the holder.
	if err := wait.PollUntilContextTimeout(ctx, pollInterval, extReadyLimit, true, func(context.Context) (bool, error) {
		return strings.Contains(ext.get(t, "/state"), "dp-holder"), nil
	}); err != nil {
		t.Fatalf("the extender's state has no dp-holder within %s: %v", extReadyLimit, err)
	}
	dp := extFilterBest(t, ext, probe, []string{"dp-a", "dp-b"})
	t.Logf("the extender's choice for 1(V100) in the device-plugin form: %s", dp)

	binds := extBinds(t, ext)
	began := time.Now()
	if _, err := draCreate(ctx, t, client, ns, "steered", "1(V100)"); err != nil {
		t.Fatal(err)
	}
	claim := draAllocation(ctx, t, client, ns, "steered")
	pod, err := client.CoreV1().Pods(ns).Get(ctx, "steered", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	devices, _ := draDevices(claim)
	t.Logf("1(V100) in the DRA form: on %s, devices %v, %s after creation", pod.Spec.NodeName, devices, time.Since(began).Round(time.Millisecond))
	if want := "dra-" + strings.TrimPrefix(dp, "dp-"); pod.Spec.NodeName != want {
		t.Errorf("the DRA pod is on %s; the extender chooses %s for the same pod in the device-plugin form, so want %s", pod.Spec.NodeName, dp, want)
	}
	if len(devices) != 1 || !strings.HasPrefix(devices[0], pod.Spec.NodeName+"/") {
		t.Errorf("devices %v, want one of %s's", devices, pod.Spec.NodeName)
	}
	if got := extBinds(t, ext); got != binds+1 {
		t.Errorf("the extender bound %d pods while the DRA pod was scheduled, want 1: kube-scheduler did not ask it", got-binds)
	}
}

// draCheckClaims checks, from the ResourceClaims alone, that no device is
// allocated to two claims, that each allocated claim's devices are of the node
// its pod is bound to (each node's pool is named after it), and that every bound
// pod's claim is allocated. It returns the count of allocated devices.
func draCheckClaims(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) int {
	t.Helper()
	claims, err := client.ResourceV1().ResourceClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeOf := map[string]string{} // pod UID -> node
	for _, p := range pods.Items {
		nodeOf[string(p.UID)] = p.Spec.NodeName
	}
	holder := map[string]string{}  // pool/device -> claim
	allocated := map[string]bool{} // pod UID
	for _, cl := range claims.Items {
		if cl.Status.Allocation == nil {
			continue
		}
		var owner string
		for _, ref := range cl.OwnerReferences {
			if ref.Kind == "Pod" {
				owner = string(ref.UID)
			}
		}
		allocated[owner] = true
		for _, r := range cl.Status.Allocation.Devices.Results {
			d := r.Pool + "/" + r.Device
			if prev, ok := holder[d]; ok {
				t.Errorf("device %s is allocated to claims %s and %s", d, prev, cl.Name)
			}
			holder[d] = cl.Name
			if node := nodeOf[owner]; node != "" && r.Pool != node {
				t.Errorf("claim %s holds %s, but its pod is on %s", cl.Name, d, node)
			}
		}
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" && !allocated[string(p.UID)] {
			t.Errorf("pod %s is bound to %s without an allocated claim", p.Name, p.Spec.NodeName)
		}
	}
	return len(holder)
}

// TestDRAFaultBurst submits a burst of 200 DRA pods through the webhook to the real
// kube-scheduler with deploy's configuration and the extender, on eight DRA nodes of
// eight V100s, stops the extender a few binds into the first half and starts a new
// one, which rebuilds its view from the slices and claims alone. Read from the
// ResourceClaims, no device is ever allocated twice, and the pods that do not fit
// wait as unschedulable.
func TestDRAFaultBurst(t *testing.T) {
	c, client, ext, opts, ns := draExtSetUp(t)
	ctx := t.Context()
	// Room for about 32 pods of the mix: more than the first extender binds
	// before it is gone (9 to 16 seen with half as many nodes, which it could fill).
	const nodes, cards = 8, 8
	for i := range nodes {
		draAddV100Node(ctx, t, c, fmt.Sprintf("dra-%d", i))
	}
	asks := []string{"1(V100)", "2(V100)", "1(V100)", "4(V100)"}
	pods := make([]*corev1.Pod, 200)
	for i := range pods {
		pods[i] = whPod(fmt.Sprintf("burst-%03d", i), asks[i%len(asks)], nil)
	}
	began := time.Now()
	firstHalf := make(chan error, 1)
	go func() { firstHalf <- extCreate(ctx, client, ns, pods[:100]) }()

	bound := extWaitBound(ctx, t, client, ns, 3)
	t.Logf("%d pods bound after %s; stopping the extender", bound, time.Since(began).Round(time.Millisecond))
	ext.stop(t)
	if err := <-firstHalf; err != nil {
		t.Fatal(err)
	}
	before := draCheckClaims(ctx, t, client, ns)
	// The scheduler meets a closed port for a while; then a new extender with
	// an empty view starts on the same address.
	time.Sleep(3 * time.Second)
	ext = extStart(t, c, ext.addr, opts)
	if err := extCreate(ctx, client, ns, pods[100:]); err != nil {
		t.Fatal(err)
	}
	bound = extSettled(ctx, t, client, ns, len(pods))
	devices := draCheckClaims(ctx, t, client, ns)
	t.Logf("burst settled after %s: %d of %d pods bound, %d devices allocated (%d before the restart)",
		time.Since(began).Round(time.Second), bound, len(pods), devices, before)
	if devices <= before {
		t.Errorf("no device allocated after the restart (%d before, %d after); the new extender must place the rest of the burst", before, devices)
	}
	// One-card pods are among those waiting, so no device stays free.
	if devices != nodes*cards {
		t.Errorf("%d of %d devices allocated with %d pods still waiting, one-card pods among them", devices, nodes*cards, len(pods)-bound)
	}
}
