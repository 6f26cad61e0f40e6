package perf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/gpuplane/gpuplane/pkg/sim"
)

// TraceDriver replays a trace's arrival order through a running control
// plane: the webhook registered with its API server, kube-scheduler with
// gpuplane's profile and the extender, the trace's nodes already there
// (TraceNodeSpec). It creates the pods one at a time and waits for each to
// be bound or declared unschedulable before the next; an unschedulable pod
// is deleted, as the replay drops a pod that fits nowhere.
type TraceDriver struct {
	Client kubernetes.Interface
	// Namespace holds the pods; it must exist and the webhook must serve it.
	Namespace string
	// PodTimeout bounds the wait for one pod. Default 2 minutes.
	PodTimeout time.Duration
	// Logf reports progress; default nothing.
	Logf func(format string, args ...any)
	// GateFor, when not 0, creates each pod with a scheduling gate and lifts
	// it this long after the pod is seen, so that every watcher (the
	// extender's informer) has it before kube-scheduler does: an
	// experiment on the extender's informer lag.
	GateFor time.Duration
}

// ReplayPodName is the name of the i-th pod of the arrival order.
func ReplayPodName(i int) string { return fmt.Sprintf("replay-%05d", i) }

// Run creates the pods of order (indexes into t.Pods) and returns the
// account of the replay as sim.Recorder keeps it, each pod's node recorded
// (indexes into t.Nodes), labelled with policy and seed.
func (d *TraceDriver) Run(ctx context.Context, t *sim.Trace, order []int, policy string, seed int64) (sim.Result, error) {
	if d.PodTimeout == 0 {
		d.PodTimeout = 2 * time.Minute
	}
	logf := d.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	nodeIndex := make(map[string]int, len(t.Nodes))
	for i := range t.Nodes {
		nodeIndex[t.Nodes[i].Name] = i
	}
	rec := sim.NewRecorder(policy, seed, t.Nodes, true)
	w, err := watchOutcomes(ctx, d.Client, d.Namespace)
	if err != nil {
		return rec.Result(), err
	}
	defer w.stop()
	pods := d.Client.CoreV1().Pods(d.Namespace)
	start, dropped := time.Now(), 0
	for i, k := range order {
		name := ReplayPodName(i)
		pod, err := TracePod(name, d.Namespace, &t.Pods[k])
		if err != nil {
			return rec.Result(), err
		}
		if d.GateFor > 0 {
			pod.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "gpuplane.io/replay"}}
		}
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return rec.Result(), fmt.Errorf("creating pod %d of the arrival order (%s, trace pod %s): %w", i, name, t.Pods[k].Name, err)
		}
		if d.GateFor > 0 {
			if err := w.waitSeen(ctx, name, d.PodTimeout); err != nil {
				return rec.Result(), fmt.Errorf("pod %s: %w", name, err)
			}
			time.Sleep(d.GateFor)
			patch := []byte(`{"spec":{"schedulingGates":null}}`)
			if _, err := pods.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return rec.Result(), fmt.Errorf("lifting the scheduling gate of pod %s: %w", name, err)
			}
		}
		out, err := w.wait(ctx, name, d.PodTimeout)
		if err != nil {
			return rec.Result(), fmt.Errorf("pod %d of the arrival order (%s, trace pod %s): %w", i, name, t.Pods[k].Name, err)
		}
		node := -1
		if out.node != "" {
			n, ok := nodeIndex[out.node]
			if !ok {
				return rec.Result(), fmt.Errorf("pod %s bound to %s, not a node of the trace", name, out.node)
			}
			node = n
		} else {
			dropped++
			if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(0))}); err != nil {
				return rec.Result(), fmt.Errorf("deleting unschedulable pod %s: %w", name, err)
			}
		}
		rec.Add(&t.Pods[k].Request, node)
		if (i+1)%500 == 0 || i+1 == len(order) {
			r := rec.Result()
			logf("replay: %d/%d pods, arrived %.2f%%, allocated %.2f%%, %d dropped, %.1f pods/s",
				i+1, len(order), rec.Arrived(), float64(r.PlacedMilli)*100/float64(max(int64(r.GPUs)*1000, 1)), dropped,
				float64(i+1)/time.Since(start).Seconds())
		}
	}
	return rec.Result(), nil
}

// podOutcome is where a pod went: a node, or unschedulable.
type podOutcome struct {
	node          string
	unschedulable bool
	reason        string
}

// outcomeWatch records the outcome of the namespace's pods from a pod
// informer's events.
type outcomeWatch struct {
	mu     sync.Mutex
	seen   map[string]podOutcome
	wake   chan struct{}
	cancel context.CancelFunc
}

func watchOutcomes(ctx context.Context, client kubernetes.Interface, namespace string) (*outcomeWatch, error) {
	w := &outcomeWatch{seen: map[string]podOutcome{}, wake: make(chan struct{})}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    w.see,
		UpdateFunc: func(_, obj any) { w.see(obj) },
	}); err != nil {
		return nil, err
	}
	watchCtx, cancel := context.WithCancel(ctx)
	w.cancel = func() { cancel(); factory.Shutdown() }
	factory.Start(watchCtx.Done())
	if !cache.WaitForCacheSync(watchCtx.Done(), inf.HasSynced) {
		w.cancel()
		return nil, errors.New("the pod informer of the replay did not sync")
	}
	return w, nil
}

func (w *outcomeWatch) stop() { w.cancel() }

func (w *outcomeWatch) see(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	out := podOutcome{node: p.Spec.NodeName}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			out.reason = c.Reason + ": " + c.Message
			out.unschedulable = c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.seen[p.Name]; ok && prev.node != "" {
		return // bound stays bound
	}
	w.seen[p.Name] = out
	close(w.wake)
	w.wake = make(chan struct{})
}

// waitSeen waits until the pod has been seen at all.
func (w *outcomeWatch) waitSeen(ctx context.Context, name string, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		w.mu.Lock()
		_, ok := w.seen[name]
		wake := w.wake
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-wake:
		case <-t.C:
			return fmt.Errorf("not seen within %s", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wait returns the pod's outcome once it is bound or unschedulable.
func (w *outcomeWatch) wait(ctx context.Context, name string, timeout time.Duration) (podOutcome, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		w.mu.Lock()
		out, ok := w.seen[name]
		wake := w.wake
		w.mu.Unlock()
		if ok && (out.node != "" || out.unschedulable) {
			return out, nil
		}
		select {
		case <-wake:
		case <-t.C:
			if !ok {
				return out, fmt.Errorf("not seen within %s", timeout)
			}
			return out, fmt.Errorf("neither bound nor unschedulable within %s; last PodScheduled: %q", timeout, out.reason)
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}

// Agreement compares, pod by pod, two replays of the same arrival order
// with their nodes recorded.
type Agreement struct {
	// Pods compared; SameNode went to the same node in both; BothPlaced
	// were placed in both (perhaps on different nodes); OnlyA and OnlyB
	// were placed in one only.
	Pods, SameNode, BothPlaced, OnlyA, OnlyB int
	// FirstDiff is the first pod of the order placed differently, -1 when
	// none is.
	FirstDiff int
}

// Compare compares a and b over the pods both recorded.
func Compare(a, b sim.Result) Agreement {
	g := Agreement{FirstDiff: -1}
	g.Pods = min(len(a.Nodes), len(b.Nodes))
	for i := 0; i < g.Pods; i++ {
		x, y := a.Nodes[i], b.Nodes[i]
		switch {
		case x == y:
			if x >= 0 {
				g.SameNode++
				g.BothPlaced++
			}
		case x >= 0 && y >= 0:
			g.BothPlaced++
		case x >= 0:
			g.OnlyA++
		default:
			g.OnlyB++
		}
		if x != y && g.FirstDiff < 0 {
			g.FirstDiff = i
		}
	}
	return g
}
