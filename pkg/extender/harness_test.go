package extender

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/dra"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

var testVoc = request.VocabularyFrom(catalog.Default())

// newTestState returns an empty state on a fake clock.
func newTestState(t testing.TB) (*cache.State, *clocktesting.FakeClock) {
	clk := extendertest.Clock()
	return cache.NewState(testVoc, clk, time.Minute, extendertest.Logger(t)), clk
}

// used returns the allocated milli of each card of a node, by position.
func used(t *testing.T, s *cache.State, node string) []int64 {
	t.Helper()
	snap := s.Snapshot(node)
	if snap == nil {
		t.Fatalf("node %s unknown", node)
	}
	cards := snap.Node().Cards
	out := make([]int64, len(cards))
	for i, c := range cards {
		out[i] = c.UsedMilli
	}
	return out
}

// harness is an extender on a fake clientset whose bindings behave like the
// API server's: they set the pod's node, once.
type harness struct {
	t      testing.TB
	ext    *Extender
	state  *cache.State
	client *fake.Clientset
	clock  *clocktesting.FakeClock
	reg    *prometheus.Registry
	ctx    context.Context
	// requeue is the extender's Requeuer, nil unless asked for.
	requeue *Requeuer
}

type harnessOptions struct {
	policy    string
	load      LoadView
	sightings *cache.Sightings
	refusals  *refusals.Record
	dra       *dra.View
	// requeue gives the extender a Requeuer (h.requeue) of the default
	// window.
	requeue bool
}

func newHarness(t testing.TB, o harnessOptions, objs ...runtime.Object) *harness {
	t.Helper()
	if o.policy == "" {
		o.policy = placement.PolicyBinpack
	}
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset(objs...)
	client.PrependReactor("create", "pods", bindingReactor(client))
	state, clk := newTestState(t)
	for _, obj := range objs {
		switch o := obj.(type) {
		case *corev1.Node:
			state.SetNode(o)
		case *corev1.Pod:
			state.SetPod(o)
		}
	}
	policy, err := placement.Builtin().New(o.policy, placement.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, state)
	if err != nil {
		t.Fatal(err)
	}
	var requeuer *Requeuer
	if o.requeue {
		requeuer = NewRequeuer(client, state, clk, DefaultRequeueWindow, extendertest.Logger(t), m.Requeued)
	}
	ext, err := New(Config{State: state, Vocabulary: testVoc, Policy: policy, Load: o.load, Client: client,
		Pods: clientPods{client}, Metrics: m, Clock: clk, Sightings: o.sightings, Refusals: o.refusals, DRA: o.dra,
		Requeuer: requeuer})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, ext: ext, state: state, client: client, clock: clk, reg: reg, ctx: ctx, requeue: requeuer}
}

// clientPods gets pods straight from the API server.
type clientPods struct{ client *fake.Clientset }

func (c clientPods) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	return c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

// bindingReactor makes pods/binding set spec.nodeName, refusing a pod that
// is already bound, as the API server does.
func bindingReactor(client *fake.Clientset) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		create, ok := action.(k8stesting.CreateAction)
		if !ok || action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := create.GetObject().(*corev1.Binding)
		gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
		obj, err := client.Tracker().Get(gvr, b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		if pod.Spec.NodeName != "" {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), b.Name, fmt.Errorf("pod %s is already assigned to node %q", b.Name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), b.Name, fmt.Errorf("uid mismatch"))
		}
		pod.Spec.NodeName = b.Target.Name
		return true, b, client.Tracker().Update(gvr, pod, b.Namespace)
	}
}

// pod returns the pod as the API server holds it now.
func (h *harness) pod(name string) *corev1.Pod {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("default").Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// create adds pods to the API server (not yet to the state: they are
// pending).
func (h *harness) create(pods ...*corev1.Pod) {
	h.t.Helper()
	for _, p := range pods {
		if _, err := h.client.CoreV1().Pods(p.Namespace).Create(h.ctx, p, metav1.CreateOptions{}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// sync shows the state every pod as the API server holds it, as the
// informer would.
func (h *harness) sync() {
	h.t.Helper()
	pods, err := h.client.CoreV1().Pods("").List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	for i := range pods.Items {
		h.state.SetPod(&pods.Items[i])
	}
}

func (h *harness) bind(pod, node string) error {
	h.t.Helper()
	p := h.pod(pod)
	res := h.ext.Bind(h.ctx, &extenderv1.ExtenderBindingArgs{PodName: pod, PodNamespace: "default", PodUID: p.UID, Node: node})
	if res.Error != "" {
		return fmt.Errorf("%s", res.Error)
	}
	return nil
}

// staticLoad is a LoadView holding one snapshot.
type staticLoad struct {
	snap    *load.Snapshot
	missing int
}

func (s *staticLoad) Current() (*load.Snapshot, bool) { return s.snap, s.snap != nil }
func (s *staticLoad) RecordMissing(n int)             { s.missing += n }

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
