//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// hamiNodeSpec is a node of cards T4 cards registered by HAMi's device
// plugin (v2.8 JSON), with the capacity it advertises (cards × split
// nvidia.com/gpu) and the labels the node agent writes.
func hamiNodeSpec(t *testing.T, name string, cards, split int) cluster.NodeSpec {
	t.Helper()
	return hamiNodeOf(t, name, "T4", "NVIDIA-Tesla T4", 15360, cards, split)
}

// hamiNodeOf is hamiNodeSpec with cards of the catalog type typ, which
// HAMi registers as product with memMiB of memory.
func hamiNodeOf(t *testing.T, name, typ, product string, memMiB int64, cards, split int) cluster.NodeSpec {
	t.Helper()
	ds := make([]hami.Device, cards)
	for i := range ds {
		ds[i] = hami.Device{UUID: fmt.Sprintf("GPU-%s-%d", name, i), Index: i, Split: split, MemoryMiB: memMiB, Cores: 100,
			Type: product, Health: true, Mode: hami.ModeHAMiCore}
	}
	reg, err := hami.EncodeRegistration(ds)
	if err != nil {
		t.Fatal(err)
	}
	return cluster.NodeSpec{
		Name:        name,
		Labels:      map[string]string{"gpu": "true", "gpu-type": typ, "gpuplane.io/sharing": "hami"},
		Annotations: map[string]string{hami.AnnotationRegister: reg},
		Capacity:    map[string]string{"nvidia.com/gpu": fmt.Sprint(cards * split)},
	}
}

// sharingPod is a pod as the webhook writes it for another backend: its
// resources and the node affinity of its card type.
func sharingPod(name, typ string, limits map[string]string) *corev1.Pod {
	l := corev1.ResourceList{}
	for k, v := range limits {
		l[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SchedulerName: extSchedulerName,
			Containers:    []corev1.Container{{Name: "main", Image: "none", Resources: corev1.ResourceRequirements{Limits: l, Requests: l}}},
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "gpu", Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}},
						{Key: "gpu-type", Operator: corev1.NodeSelectorOpIn, Values: []string{typ}},
					},
				}}},
			}},
		},
	}
}

// sharingBound waits until the pod is bound and returns it.
func sharingBound(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, extSettle, true, func(ctx context.Context) (bool, error) {
		var err error
		p, err = client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Spec.NodeName != "", err
	})
	if err != nil {
		t.Fatalf("pod %s not bound within %s: %v (conditions %+v)", name, extSettle, err, p.Status.Conditions)
	}
	return p
}

// waitRefused waits for a FailedScheduling event of the pod that mentions
// why.
func waitRefused(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, pod, why string) {
	t.Helper()
	var seen []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, extSettle, true, func(ctx context.Context) (bool, error) {
		events, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen = seen[:0]
		for _, e := range events.Items {
			if e.InvolvedObject.Name == pod && e.Reason == "FailedScheduling" {
				seen = append(seen, e.Message)
				if strings.Contains(e.Message, why) {
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no FailedScheduling event of %s mentions %q within %s: %q", pod, why, extSettle, seen)
	}
}

// allocateAsHAMi plays HAMi's device plugin having allocated the pod that
// holds the node's lock: the pod's entries are emptied, its bind phase is
// success, and the lock is gone.
func allocateAsHAMi(ctx context.Context, t *testing.T, client kubernetes.Interface, node string, pod *corev1.Pod) {
	t.Helper()
	pod.Annotations[hami.AnnotationToAllocate] = ";"
	pod.Annotations[hami.AnnotationBindPhase] = hami.BindSuccess
	if _, err := client.CoreV1().Pods(pod.Namespace).Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, hami.AnnotationNodeLock))
	if _, err := client.CoreV1().Nodes().Patch(ctx, node, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestExtenderSharingBackends runs kube-scheduler with the shipped profile
// and the extender on a HAMi node and a MIG node, as their device plugins
// publish them: HAMi shares bind with exactly the annotations HAMi's device
// plugin reads, one at a time per node under HAMi's node lock; MIG profiles
// bind by count; nothing is over-committed, checked from the API objects.
func TestExtenderSharingBackends(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	if _, err := c.AddGPUNode(ctx, hamiNodeSpec(t, "hami-t4", 2, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddGPUNode(ctx, cluster.NodeSpec{
		Name:     "mig-a100",
		Labels:   map[string]string{"gpu": "true", "gpu-type": "A100", "gpuplane.io/sharing": "mig"},
		Capacity: map[string]string{"nvidia.com/mig-3g.40gb": "2", "nvidia.com/mig-1g.10gb": "1"},
	}); err != nil {
		t.Fatal(err)
	}
	ext := extStart(t, c, "127.0.0.1:0", extender.DefaultOptions())
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(ctx, t, client, "e2e-sharing")
	create := func(p *corev1.Pod) {
		t.Helper()
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// 0.25(T4,4Gi) through HAMi
	create(sharingPod("share-a", "T4", map[string]string{"nvidia.com/gpu": "1", "nvidia.com/gpucores": "25", "nvidia.com/gpumem": "4096"}))
	a := sharingBound(ctx, t, client, ns, "share-a")
	if a.Spec.NodeName != "hami-t4" {
		t.Fatalf("share-a on %s, want hami-t4", a.Spec.NodeName)
	}
	devs := a.Annotations[hami.AnnotationToAllocate]
	pd, err := hami.DecodePodDevices(devs)
	if err != nil || len(pd) != 1 || len(pd[0]) != 1 || pd[0][0].MemoryMiB != 4096 || pd[0][0].Cores != 25 || pd[0][0].Type != "NVIDIA" ||
		!strings.HasPrefix(pd[0][0].UUID, "GPU-hami-t4-") {
		t.Fatalf("%s = %q (%+v, %v), want one T4 of hami-t4 with 4096 MiB and 25 cores", hami.AnnotationToAllocate, devs, pd, err)
	}
	for k, want := range map[string]string{hami.AnnotationAllocated: devs, hami.AnnotationNode: "hami-t4", hami.AnnotationBindPhase: "allocating"} {
		if got := a.Annotations[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{hami.AnnotationTime, hami.AnnotationBindTime} {
		if sec, err := strconv.ParseInt(a.Annotations[k], 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > 10*time.Minute {
			t.Errorf("%s = %q, want the Unix seconds of the bind", k, a.Annotations[k])
		}
	}
	node, err := client.CoreV1().Nodes().Get(ctx, "hami-t4", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := hami.DecodeNodeLock(node.Annotations[hami.AnnotationNodeLock])
	if err != nil || lock.Namespace != ns || lock.Name != "share-a" {
		t.Fatalf("node lock %q (%v), want it held by %s/share-a", node.Annotations[hami.AnnotationNodeLock], err, ns)
	}

	// A second HAMi share waits while HAMi's device plugin has not
	// allocated the first (the lock), and binds once it has.
	create(sharingPod("share-b", "T4", map[string]string{"nvidia.com/gpu": "1", "nvidia.com/gpucores": "50", "nvidia.com/gpumem": "8192"}))
	waitRefused(ctx, t, client, ns, "share-b", "HAMi node lock held")
	if b, err := client.CoreV1().Pods(ns).Get(ctx, "share-b", metav1.GetOptions{}); err != nil || b.Spec.NodeName != "" {
		t.Fatalf("share-b bound while the node lock was held: %v", err)
	}
	allocateAsHAMi(ctx, t, client, "hami-t4", a)
	b := sharingBound(ctx, t, client, ns, "share-b")
	if b.Spec.NodeName != "hami-t4" || b.Annotations[hami.AnnotationNode] != "hami-t4" {
		t.Fatalf("share-b on %s with %q", b.Spec.NodeName, b.Annotations)
	}
	allocateAsHAMi(ctx, t, client, "hami-t4", b)

	// An explicit MIG profile, twice, then once more than the layout has.
	for _, name := range []string{"mig-1", "mig-2", "mig-3"} {
		create(sharingPod(name, "A100", map[string]string{"nvidia.com/mig-3g.40gb": "1"}))
	}
	// which two of the three bind is kube-scheduler's order: wait for two
	var migBound []string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, extSettle, true, func(ctx context.Context) (bool, error) {
		migBound = migBound[:0]
		for _, name := range []string{"mig-1", "mig-2", "mig-3"} {
			p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Spec.NodeName != "" {
				if p.Spec.NodeName != "mig-a100" || len(p.Annotations) != 0 {
					return false, fmt.Errorf("%s on %s with annotations %v", name, p.Spec.NodeName, p.Annotations)
				}
				migBound = append(migBound, name)
			}
		}
		return len(migBound) == 2, nil
	})
	if err != nil {
		t.Fatalf("MIG pods bound %v: %v", migBound, err)
	}

	third := ""
	for _, name := range []string{"mig-1", "mig-2", "mig-3"} {
		if !slices.Contains(migBound, name) {
			third = name
		}
	}
	waitRefused(ctx, t, client, ns, third, "mig-3g.40gb")

	// Over-commitment, from the API objects alone: per HAMi card its tasks,
	// cores and memory; per MIG profile the instances.
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type use struct {
		tasks, cores int
		mem          int64
	}
	cards := map[string]*use{}
	instances := 0
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" {
			continue
		}
		if raw, ok := p.Annotations[hami.AnnotationAllocated]; ok {
			pd, err := hami.DecodePodDevices(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range pd {
				for _, d := range c {
					u := cards[d.UUID]
					if u == nil {
						u = &use{}
						cards[d.UUID] = u
					}
					u.tasks++
					u.cores += d.Cores
					u.mem += d.MemoryMiB
				}
			}
		}
		if q, ok := p.Spec.Containers[0].Resources.Limits["nvidia.com/mig-3g.40gb"]; ok {
			instances += int(q.Value())
		}
	}
	for uuid, u := range cards {
		if u.tasks > 4 || u.cores > 100 || u.mem > 15360 {
			t.Errorf("card %s over-committed: %+v", uuid, *u)
		}
	}
	if instances > 2 {
		t.Errorf("%d mig-3g.40gb instances bound, the node has 2", instances)
	}
	for uuid, u := range cards {
		t.Logf("HAMi card %s: %d tasks, %d%% of the cores, %d MiB", uuid, u.tasks, u.cores, u.mem)
	}
	t.Logf("extender /state: %.1500s", ext.get(t, "/state"))
}

// playHAMiDevicePlugin stands in for HAMi's device plugin on the named
// nodes until ctx ends: when a node's lock names a pod bound to it, the pod
// is allocated (its entries emptied, its bind phase success) and the lock
// released; a lock whose pod is gone is released too.
func playHAMiDevicePlugin(ctx context.Context, client kubernetes.Interface, nodes []string) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		for _, name := range nodes {
			node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return ignoreCanceled(ctx, err)
			}
			raw, ok := node.Annotations[hami.AnnotationNodeLock]
			if !ok {
				continue
			}
			lock, err := hami.DecodeNodeLock(raw)
			if err != nil {
				return fmt.Errorf("node %s: %w", name, err)
			}
			pod, err := client.CoreV1().Pods(lock.Namespace).Get(ctx, lock.Name, metav1.GetOptions{})
			switch {
			case err == nil && pod.Spec.NodeName != name:
				continue // bound in a moment, or its bind fails and releases the lock
			case err == nil:
				patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:";",%q:%q}}}`, hami.AnnotationToAllocate, hami.AnnotationBindPhase, hami.BindSuccess)
				if _, err := client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
					return ignoreCanceled(ctx, err)
				}
			case !apierrors.IsNotFound(err):
				return ignoreCanceled(ctx, err)
			}
			unlock := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, hami.AnnotationNodeLock)
			if _, err := client.CoreV1().Nodes().Patch(ctx, name, "application/merge-patch+json", []byte(unlock), metav1.PatchOptions{}); err != nil {
				return ignoreCanceled(ctx, err)
			}
		}
	}
}

func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// TestExtenderSharingRestart is the fault test over a cluster mixing the
// four sharing backends: two HAMi nodes (HAMi's device plugin played by the
// test), a MIG node, a time-slicing node and a gpu-manager node take a
// burst of HAMi shares and virtual cards, MIG instances, replicas and vGPU
// shares; the extender is stopped twice a few binds in and a new one
// started each time, which rebuilds its state from the API server alone.
// No card, task slot, MIG instance, replica or vGPU card is over-committed,
// checked from the API objects alone.
func TestExtenderSharingRestart(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	cat := catalog.Default()
	for _, spec := range []cluster.NodeSpec{
		hamiNodeSpec(t, "hami-a", 2, 4),
		hamiNodeSpec(t, "hami-b", 2, 4),
		{Name: "mig-a100", Labels: map[string]string{"gpu": "true", "gpu-type": "A100", "gpuplane.io/sharing": "mig"},
			Capacity: map[string]string{"nvidia.com/mig-3g.40gb": "2", "nvidia.com/mig-1g.10gb": "1"}},
		{Name: "ts-t4", Labels: map[string]string{"gpu": "true", "gpu-type": "T4", "gpuplane.io/sharing": "timeslice"},
			Capacity: map[string]string{"nvidia.com/gpu.shared": "4"}},
		extNode{name: "vgpu-a100", cards: 2, typ: "A100", vgpu: true}.spec(t, cat),
	} {
		if _, err := c.AddGPUNode(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	pluginCtx, stopPlugin := context.WithCancel(ctx)
	pluginDone := make(chan error, 1)
	go func() { pluginDone <- playHAMiDevicePlugin(pluginCtx, client, []string{"hami-a", "hami-b"}) }()
	t.Cleanup(func() {
		stopPlugin()
		if err := <-pluginDone; err != nil {
			t.Errorf("HAMi's device plugin (played): %v", err)
		}
	})
	opts := extender.DefaultOptions()
	ext := extStart(t, c, "127.0.0.1:0", opts)
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(ctx, t, client, "e2e-sharing-restart")
	// gpu-manager's pods in a namespace of their own, checked as the
	// device-plugin burst checks them (extCheckNoOvercommit).
	vns := createNamespace(ctx, t, client, "e2e-sharing-restart-vgpu")
	var vpods []*corev1.Pod
	for i, cores := range []int{50, 30, 70, 25, 100, 20, 50, 10, 30} {
		a := extAsk{cores: cores, types: []string{"A100"}}
		if cores < 100 {
			a.mem = int64(cores) * 320 / 100 // of an 80Gi card, in 256Mi units
		}
		vpods = append(vpods, a.pod(fmt.Sprintf("vgpu-%02d", i), cat))
	}
	vbatches := [][]*corev1.Pod{vpods[:3], vpods[3:6], vpods[6:]}

	// 40 asks: HAMi shares of 3 sizes, HAMi virtual whole cards, MIG
	// instances of both profiles, replicas. The HAMi nodes hold 16 tasks
	// on 4 cards, the MIG node 3 instances, the time-slicing node 4
	// replicas: the burst overflows every backend.
	var pods []*corev1.Pod
	for i := 0; i < 40; i++ {
		var p *corev1.Pod
		name := fmt.Sprintf("burst-%02d", i)
		switch i % 8 {
		case 0, 1, 2:
			cores := []int{10, 25, 50}[i%3]
			p = sharingPod(name, "T4", map[string]string{"nvidia.com/gpu": "1", "nvidia.com/gpucores": fmt.Sprint(cores), "nvidia.com/gpumem": fmt.Sprint(cores * 150)})
		case 3:
			p = sharingPod(name, "T4", map[string]string{"nvidia.com/gpu": "1", "nvidia.com/gpucores": "100", "nvidia.com/gpumem-percentage": "100"})
		case 4:
			p = sharingPod(name, "A100", map[string]string{"nvidia.com/mig-3g.40gb": "1"})
		case 5:
			p = sharingPod(name, "A100", map[string]string{"nvidia.com/mig-1g.10gb": "1"})
		default:
			p = sharingPod(name, "T4", map[string]string{"nvidia.com/gpu.shared": "1"})
		}
		pods = append(pods, p)
	}
	// Three batches; the extender is stopped a few binds into each of the
	// first two and a new one started on the same address.
	batches := [][]*corev1.Pod{pods[:14], pods[14:27], pods[27:]}
	before := 0
	for k, batch := range batches[:2] {
		created := make(chan error, 1)
		go func() {
			created <- errors.Join(extCreate(ctx, client, ns, batch), extCreate(ctx, client, vns, vbatches[k]))
		}()
		extWaitBound(ctx, t, client, ns, before+3)
		ext.stop(t)
		if err := <-created; err != nil {
			t.Fatal(err)
		}
		before = len(sharingNoOvercommit(ctx, t, client, ns))
		vbefore := len(extCheckNoOvercommit(ctx, t, client, vns, cat))
		t.Logf("extender stopped with %d pods bound, and %d of gpu-manager", before, vbefore)
		ext = extStart(t, c, ext.addr, opts)
	}
	if err := errors.Join(extCreate(ctx, client, ns, batches[2]), extCreate(ctx, client, vns, vbatches[2])); err != nil {
		t.Fatal(err)
	}
	bound := extSettled(ctx, t, client, ns, len(pods))
	after := sharingNoOvercommit(ctx, t, client, ns)
	extSettled(ctx, t, client, vns, len(vpods))
	// The two A100 cards hold 200 cores: at least the 100-core pod and a
	// share, or shares worth more than one card.
	if vafter := extCheckNoOvercommit(ctx, t, client, vns, cat); len(vafter) < 2 {
		t.Errorf("only %d gpu-manager pods bound; the two A100 cards hold at least 2 of them", len(vafter))
	}
	t.Logf("%d pods bound before the second restart, %d after it settled of %d", before, bound, len(pods))
	if bound-before < 1 {
		t.Error("no pod bound after the second restart")
	}
	// the 3 MIG instances, 4 replicas and at least a task per HAMi card
	if len(after) < 11 {
		t.Errorf("only %d pods bound; the cluster holds at least 11 of this burst", len(after))
	}
	t.Logf("extender /state: %.2000s", ext.get(t, "/state"))
}

// sharingNoOvercommit checks from the API objects alone that no HAMi card
// holds more tasks, cores or memory than it registers, that every HAMi pod
// was given what it asked, and that no MIG profile or replica pool is
// handed out beyond the node's allocatable. It returns the bound pods.
func sharingNoOvercommit(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) []corev1.Pod {
	t.Helper()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type card struct {
		split       int
		mem         int64
		tasks, used int
		memUsed     int64
		node        string
	}
	cards := map[string]*card{}
	units := map[string]int64{} // node/resource -> allocatable
	for _, n := range nodes.Items {
		if raw, ok := n.Annotations[hami.AnnotationRegister]; ok {
			ds, err := hami.DecodeRegistration(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				cards[d.UUID] = &card{split: d.Split, mem: d.MemoryMiB, node: n.Name}
			}
		}
		for r, q := range n.Status.Allocatable {
			if strings.HasPrefix(string(r), "nvidia.com/mig-") || r == "nvidia.com/gpu.shared" {
				units[n.Name+"/"+string(r)] = q.Value()
			}
		}
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bound []corev1.Pod
	held := map[string]int64{}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" {
			continue
		}
		bound = append(bound, p)
		limits := p.Spec.Containers[0].Resources.Limits
		for r, q := range limits {
			if key := p.Spec.NodeName + "/" + string(r); strings.HasPrefix(string(r), "nvidia.com/mig-") || r == "nvidia.com/gpu.shared" {
				if _, ok := units[key]; !ok {
					t.Errorf("%s asks %s but is bound to %s, which has none", p.Name, r, p.Spec.NodeName)
				}
				held[key] += q.Value()
			}
		}
		cores, isHAMi := limits["nvidia.com/gpucores"]
		if !isHAMi {
			continue
		}
		pd, err := hami.DecodePodDevices(p.Annotations[hami.AnnotationAllocated])
		if err != nil || len(pd) != 1 || len(pd[0]) != 1 {
			t.Errorf("HAMi pod %s on %s: devices %q (%v), want one card", p.Name, p.Spec.NodeName, p.Annotations[hami.AnnotationAllocated], err)
			continue
		}
		d := pd[0][0]
		c := cards[d.UUID]
		switch {
		case c == nil || c.node != p.Spec.NodeName:
			t.Errorf("HAMi pod %s on %s was given card %s, not one of its node", p.Name, p.Spec.NodeName, d.UUID)
			continue
		case int64(d.Cores) != cores.Value():
			t.Errorf("HAMi pod %s asks %d cores, was written %d", p.Name, cores.Value(), d.Cores)
		}
		if m, ok := limits["nvidia.com/gpumem"]; ok && m.Value() != d.MemoryMiB {
			t.Errorf("HAMi pod %s asks %d MiB, was written %d", p.Name, m.Value(), d.MemoryMiB)
		}
		c.tasks++
		c.used += d.Cores
		c.memUsed += d.MemoryMiB
	}
	for uuid, c := range cards {
		if c.tasks > c.split || c.used > 100 || c.memUsed > c.mem {
			t.Errorf("card %s of %s over-committed: %d tasks of %d, %d%% of the cores, %d of %d MiB", uuid, c.node, c.tasks, c.split, c.used, c.memUsed, c.mem)
		}
	}
	for key, n := range held {
		if n > units[key] {
			t.Errorf("%s: %d held, %d allocatable", key, n, units[key])
		}
	}
	return bound
}
