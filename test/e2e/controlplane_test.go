//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/test/cluster"
)

const gpuResource corev1.ResourceName = "nvidia.com/gpu"

// Bounds of the waits below; generous for a busy 2-core machine.
const (
	pollInterval  = 200 * time.Millisecond
	scheduleLimit = 60 * time.Second
)

// TestControlPlaneSchedulesGPUPods runs the default kube-scheduler against three GPU
// nodes and checks that it places GPU pods only where cards are free.
func TestControlPlaneSchedulesGPUPods(t *testing.T) {
	began := time.Now()
	c := cluster.New(t, cluster.Options{})
	t.Logf("control plane (etcd, kube-apiserver) ready in %s", c.StartupDuration().Round(time.Millisecond))
	ctx := t.Context()
	client := c.Client()

	gpus := map[string]int64{"gpu-8": 8, "gpu-4": 4, "gpu-2": 2}
	for name, n := range gpus {
		_, err := c.AddGPUNode(ctx, cluster.NodeSpec{
			Name:     name,
			Labels:   map[string]string{"gpu": "true"},
			Capacity: map[string]string{string(gpuResource): fmt.Sprint(n)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	schedStart := time.Now()
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-scheduler ready in %s; whole start-up %s",
		time.Since(schedStart).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	ns := createNamespace(ctx, t, client, "e2e-controlplane")

	tests := []struct {
		name string
		gpus int64
		// fits: the nodes the pod may land on; none means it must stay pending.
		fits []string
	}{
		// Two cards fit anywhere; six only on the 8-card node, whatever the first took.
		{name: "two-cards", gpus: 2, fits: []string{"gpu-8", "gpu-4", "gpu-2"}},
		{name: "six-cards", gpus: 6, fits: []string{"gpu-8"}},
		{name: "sixteen-cards", gpus: 16},
	}
	for _, tt := range tests {
		// Sequential on purpose: later cases see the cards earlier ones took.
		t.Run(tt.name, func(t *testing.T) {
			podStart := time.Now()
			pod, err := client.CoreV1().Pods(ns).Create(ctx, gpuPod(tt.name, tt.gpus), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("creating pod %s: %v", tt.name, err)
			}
			if len(tt.fits) == 0 {
				ev := waitFailedScheduling(ctx, t, client, pod)
				if !strings.Contains(ev.Message, "Insufficient "+string(gpuResource)) {
					t.Errorf("FailedScheduling message %q does not name the missing %s", ev.Message, gpuResource)
				}
				t.Logf("pod %s pending after %s: %s", tt.name, time.Since(podStart).Round(time.Millisecond), ev.Message)
				if p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
					t.Error(err)
				} else if p.Spec.NodeName != "" {
					t.Errorf("pod asking %d cards bound to %s", tt.gpus, p.Spec.NodeName)
				}
				return
			}
			node := waitBound(ctx, t, client, pod)
			t.Logf("pod %s bound to %s after %s", tt.name, node, time.Since(podStart).Round(time.Millisecond))
			if !slices.Contains(tt.fits, node) {
				t.Errorf("pod asking %d cards bound to %s, want one of %v", tt.gpus, node, tt.fits)
			}
		})
	}

	// Whatever the order of placement, no node may hold more cards than it has.
	used := gpusInUse(ctx, t, client, ns)
	for node, n := range used {
		if n > gpus[node] {
			t.Errorf("node %s holds pods asking %d cards, it has %d", node, n, gpus[node])
		}
	}
	t.Logf("e2e test took %s in all", time.Since(began).Round(time.Millisecond))
}

func gpuPod(name string, gpus int64) *corev1.Pod {
	q := *resource.NewQuantity(gpus, resource.DecimalSI)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "main",
				Image: "pause", // never pulled: no kubelet runs
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{gpuResource: q},
				},
			}},
		},
	}
}

func createNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// waitBound waits until the pod has a node and returns its name.
func waitBound(ctx context.Context, t *testing.T, client kubernetes.Interface, pod *corev1.Pod) string {
	t.Helper()
	var node string
	var conditions []corev1.PodCondition
	err := wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("reading pod %s: %w", pod.Name, err)
		}
		node, conditions = p.Spec.NodeName, p.Status.Conditions
		return node != "", nil
	})
	if err != nil {
		t.Fatalf("pod %s not bound within %s: %v; conditions: %+v", pod.Name, scheduleLimit, err, conditions)
	}
	return node
}

// waitFailedScheduling waits for the scheduler's FailedScheduling event about the pod.
func waitFailedScheduling(ctx context.Context, t *testing.T, client kubernetes.Interface, pod *corev1.Pod) corev1.Event {
	t.Helper()
	selector := fields.Set{
		"involvedObject.kind": "Pod",
		"involvedObject.name": pod.Name,
		"reason":              "FailedScheduling",
	}.AsSelector().String()
	var events *corev1.EventList
	err := wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
		var err error
		if events, err = client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: selector}); err != nil {
			return false, fmt.Errorf("listing events of pod %s: %w", pod.Name, err)
		}
		return len(events.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("no FailedScheduling event for pod %s within %s: %v", pod.Name, scheduleLimit, err)
	}
	return events.Items[0]
}

// gpusInUse sums the cards the namespace's bound pods ask for, per node.
func gpusInUse(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) map[string]int64 {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	used := map[string]int64{}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" {
			continue
		}
		for _, c := range p.Spec.Containers {
			q := c.Resources.Limits[gpuResource]
			used[p.Spec.NodeName] += q.Value()
		}
	}
	return used
}

func sleep(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-ctx.Done():
		t.Fatalf("test context ended: %v", ctx.Err())
	case <-time.After(pollInterval):
	}
}
