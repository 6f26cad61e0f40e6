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
func draExtSetUp(t *testing.T) (*cluster.Cluster, kubernetes.Interface, *extRunner, string) {
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
	return c, client, ext, ns
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
	c, client, ext, ns := draExtSetUp(t)
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
