//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// The priority classes of TestGPUPreemption.
const (
	preemptLow  = "gpuplane-e2e-low"
	preemptHigh = "gpuplane-e2e-high"
)

// TestGPUPreemption runs kube-scheduler with the shipped configuration and
// the extender on a full cluster of two nodes of 8 V100 that hand out
// whole cards and vGPU alike:
//   - "mixed": six pods of low priority with one whole card each, and two
//     vGPU shares of low priority, one on each of the last two cards;
//   - "guarded": one pod of low priority with seven whole cards, and a vGPU
//     share of high priority on the eighth card.
//
// Then a pod of high priority asks for 8(V100). kube-scheduler, which counts
// whole cards but not vGPU, would on its own rather preempt the one pod of
// "guarded" (fewer victims), which frees no card the pod can use while the
// share of equal priority stays, and on "mixed" only the six whole-card
// pods. The extender must drop "guarded" (pods of equal priority are never
// preempted) and name on "mixed" all eight pods, shares included, which
// kube-scheduler did not propose. The pod must bind to "mixed"; the pods
// deleted must be exactly those the extender named; everything on
// "guarded" must stay.
func TestGPUPreemption(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	cat := catalog.Default()
	for _, name := range []string{"mixed", "guarded"} {
		spec := extNode{name: name, cards: 8, typ: "V100"}.spec(t, cat)
		spec.Labels[cat.Labels.VGPU] = "true"
		spec.Capacity[cat.VGPU.CoreResource] = strconv.Itoa(8 * cat.VGPU.CoresPerCard)
		spec.Capacity[cat.VGPU.MemoryResource] = strconv.FormatInt(8*32*1024/cat.VGPU.MemoryUnitMiB, 10)
		if _, err := c.AddGPUNode(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	for name, value := range map[string]int32{preemptLow: 100, preemptHigh: 1000} {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
		if _, err := client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ext := extStart(t, c, "127.0.0.1:0", extender.DefaultOptions())
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(ctx, t, client, "e2e-preempt")

	// Fill the cluster, whole-card pods first, so that the shares land on
	// the cards left.
	type fill struct {
		pod  *corev1.Pod
		node string
	}
	var fills []fill
	for i := range 6 {
		fills = append(fills, fill{preemptPod(fmt.Sprintf("mixed-whole-%d", i), preemptLow, extAsk{whole: 1, types: []string{"V100"}}, cat), "mixed"})
	}
	fills = append(fills, fill{preemptPod("guarded-whole", preemptLow, extAsk{whole: 7, types: []string{"V100"}}, cat), "guarded"})
	for i := range 2 {
		fills = append(fills, fill{preemptPod(fmt.Sprintf("mixed-share-%d", i), preemptLow, extAsk{cores: 60, mem: 16, types: []string{"V100"}}, cat), "mixed"})
	}
	fills = append(fills, fill{preemptPod("guarded-share", preemptHigh, extAsk{cores: 60, mem: 16, types: []string{"V100"}}, cat), "guarded"})
	for _, f := range fills {
		f.pod.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": f.node}
		created, err := client.CoreV1().Pods(ns).Create(ctx, f.pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := waitBound(ctx, t, client, created); got != f.node {
			t.Fatalf("pod %s bound to %s, want %s", f.pod.Name, got, f.node)
		}
	}
	before := podsByName(ctx, t, client, ns)

	boss, err := client.CoreV1().Pods(ns).Create(ctx, preemptPod("boss", preemptHigh, extAsk{whole: 8, types: []string{"V100"}}, cat), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Not waitBound: when the pod stays pending, what was preempted still
	// says what went wrong.
	var bossNode string
	err = wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, boss.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		bossNode = p.Spec.NodeName
		return bossNode != "", nil
	})
	if err != nil || bossNode != "mixed" {
		t.Errorf("8(V100) of high priority on node %q within %s (%v), want it bound to mixed", bossNode, scheduleLimit, err)
	}
	after := podsByName(ctx, t, client, ns)
	delete(after, boss.Name)

	var deleted []string
	for name, p := range before {
		q, ok := after[name]
		switch {
		case !ok:
			deleted = append(deleted, name)
		case q.UID != p.UID || q.Spec.NodeName != p.Spec.NodeName:
			t.Errorf("pod %s changed: %s on %s, now %s on %s", name, p.UID, p.Spec.NodeName, q.UID, q.Spec.NodeName)
		}
	}
	sort.Strings(deleted)
	want := []string{"mixed-share-0", "mixed-share-1", "mixed-whole-0", "mixed-whole-1", "mixed-whole-2", "mixed-whole-3", "mixed-whole-4", "mixed-whole-5"}
	if !slices.Equal(deleted, want) {
		t.Errorf("pods preempted: %v, want every pod of mixed: %v", deleted, want)
	}
	for _, name := range []string{"guarded-whole", "guarded-share"} {
		if _, ok := after[name]; !ok {
			t.Errorf("pod %s of guarded was preempted", name)
		}
	}

	// The extender named exactly those pods, on mixed, and no others.
	named := map[string][]string{}
	for _, e := range ext.logs.GetBuffer().Data() {
		if e.Message != "Preemption victims named" {
			continue
		}
		kv := logValues(e.WithKVList, e.ParameterKVList)
		node, _ := kv["node"].(string)
		victims, _ := kv["victims"].([]string)
		named[node] = append(named[node], victims...)
	}
	wantNamed := make([]string, len(want))
	for i, n := range want {
		wantNamed[i] = ns + "/" + n
	}
	mixed := slices.Compact(slices.Sorted(slices.Values(named["mixed"])))
	if !slices.Equal(mixed, wantNamed) {
		t.Errorf("the extender named on mixed %v, want %v (all it named: %v)", mixed, wantNamed, named)
	}
	if len(named["guarded"]) > 0 {
		t.Errorf("the extender named victims on guarded: %v", named["guarded"])
	}
	// And counted it: on mixed victims, on guarded none (the share of equal
	// priority).
	// (kube-scheduler may ask again before the extender's informer has seen
	// the victims go, so at least.)
	metrics := ext.get(t, "/metrics")
	for series, least := range map[string]int{
		`gpuplane_extender_preemption_nodes_total{result="victims"}`:    1,
		`gpuplane_extender_preemption_nodes_total{result="no_victims"}`: 1,
		`gpuplane_extender_preemption_victims_total`:                    8,
	} {
		m := regexp.MustCompile(regexp.QuoteMeta(series) + ` (\d+)`).FindStringSubmatch(metrics)
		if m == nil {
			t.Errorf("the extender's /metrics lack %s", series)
		} else if n, _ := strconv.Atoi(m[1]); n < least {
			t.Errorf("%s %d, want at least %d", series, n, least)
		}
	}
	// kube-scheduler recorded the preemption of each pod it deleted.
	events, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var preempted []string
	for _, e := range events.Items {
		if e.Reason == "Preempted" {
			preempted = append(preempted, e.InvolvedObject.Name)
		}
	}
	if preempted = slices.Compact(slices.Sorted(slices.Values(preempted))); !slices.Equal(preempted, want) {
		t.Errorf("Preempted events for %v, want %v", preempted, want)
	}
	t.Logf("8(V100) of high priority on node %q after preempting %v", bossNode, deleted)
}

// preemptPod is an ask as the webhook writes it, with a priority class and
// no grace period: no kubelet runs here to end a pod that has one, and a
// preempted pod must be gone for its cards to be free.
func preemptPod(name, class string, a extAsk, cat *catalog.Catalog) *corev1.Pod {
	p := a.pod(name, cat)
	p.Spec.PriorityClassName = class
	var zero int64
	p.Spec.TerminationGracePeriodSeconds = &zero
	return p
}

// podsByName lists the namespace's pods that are not being deleted.
func podsByName(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) map[string]corev1.Pod {
	t.Helper()
	var out map[string]corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		out = map[string]corev1.Pod{}
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				return false, nil // still going: wait for it to be gone
			}
			out[p.Name] = p
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("listing pods of %s: %v", ns, err)
	}
	return out
}

// logValues gathers a log entry's key/value pairs.
func logValues(lists ...[]any) map[string]any {
	out := map[string]any{}
	for _, kv := range lists {
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				out[k] = kv[i+1]
			}
		}
	}
	return out
}
