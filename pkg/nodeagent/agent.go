package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/metrics"
)

// Agent keeps its node's labels, annotation and conditions in line with
// what the checklist finds. It works like a controller of one object: a
// pass runs on start, on every change of the node that matters to it
// (allocatable, the keys it owns) and every Resync, and after a failed pass
// again with exponential backoff, so a missing driver or API server never
// makes it exit or spin.
type Agent struct {
	nodeName  string
	resync    time.Duration
	setup     nodeSetup
	dra       bool // Options.DRA
	client    kubernetes.Interface
	checklist *Checklist
	catalog   *catalog.Catalog
	clock     clock.WithTicker
	metrics   *metrics.Agent
	queue     workqueue.TypedRateLimitingInterface[string]
	health    *health

	// afterPass, when set, is called after every pass (tests wait on it).
	afterPass func(Report, error)
	// recorder posts the node Events (a label kept against the agent's
	// view); nil posts none. Run sets it.
	recorder events.EventRecorder

	// Used by the worker goroutine only:
	// readLive: the last pass wrote to the node, so the next one reads it
	// from the API server, not from the informer's cache, which may not
	// have caught up with the write yet.
	readLive bool
	// lastKept is the kept-labels note last announced by an Event.
	lastKept string
}

func newAgent(opts Options, client kubernetes.Interface, cl *Checklist, cat *catalog.Catalog, clk clock.WithTicker, m *metrics.Agent) *Agent {
	return &Agent{
		nodeName:  opts.NodeName,
		resync:    opts.Resync,
		setup:     newNodeSetup(opts, cat),
		dra:       opts.DRA,
		client:    client,
		checklist: cl,
		catalog:   cat,
		clock:     clk,
		metrics:   m,
		health:    newHealth(clk, opts.Resync),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](opts.BackoffBase, opts.BackoffMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Clock: clk},
		),
	}
}

// Run watches the node and runs passes until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("node", a.nodeName)
	ctx = klog.NewContext(ctx, logger)
	defer a.queue.ShutDown()

	factory := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", a.nodeName).String()
		}))
	nodes := factory.Core().V1().Nodes()
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { a.enqueueIfMine(obj) },
		UpdateFunc: func(oldObj, newObj any) {
			if o, n, ok := nodePair(oldObj, newObj); ok && a.matters(o, n) {
				a.enqueueIfMine(newObj)
			}
		},
	}); err != nil {
		return fmt.Errorf("watching node %q: %w", a.nodeName, err)
	}
	lister := nodes.Lister()
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: a.client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, FieldManager)
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	// Not waiting for the cache to sync: the first pass runs at once and, if
	// the node is not in the cache yet, retries with backoff.
	a.queue.Add(a.nodeName)

	var wg sync.WaitGroup
	wg.Go(func() {
		for a.processNext(ctx, lister) {
		}
	})
	logger.Info("Node agent started", "resync", a.resync)
	<-ctx.Done()
	a.queue.ShutDown()
	wg.Wait()
	logger.Info("Node agent stopped")
	return nil
}

func nodePair(oldObj, newObj any) (*corev1.Node, *corev1.Node, bool) {
	o, ok1 := oldObj.(*corev1.Node)
	n, ok2 := newObj.(*corev1.Node)
	return o, n, ok1 && ok2
}

func (a *Agent) enqueueIfMine(obj any) {
	if n, ok := obj.(*corev1.Node); ok && n.Name == a.nodeName {
		a.queue.Add(a.nodeName)
	}
}

// matters reports whether an update touches what a pass reads or writes;
// the kubelet's heartbeats do not, and cause no pass.
func (a *Agent) matters(o, n *corev1.Node) bool {
	if !equality.Semantic.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) {
		return true
	}
	labels, annotations := ownedKeys(a.catalog)
	for _, k := range labels {
		if o.Labels[k] != n.Labels[k] {
			return true
		}
	}
	for _, k := range annotations {
		if o.Annotations[k] != n.Annotations[k] {
			return true
		}
	}
	for _, t := range conditionTypes() {
		oc, nc := findCondition(o, t), findCondition(n, t)
		if (oc == nil) != (nc == nil) || oc != nil && (oc.Status != nc.Status || oc.Reason != nc.Reason || oc.Message != nc.Message) {
			return true
		}
	}
	return false
}

func (a *Agent) processNext(ctx context.Context, lister corelisters.NodeLister) bool {
	key, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(key)
	rep, err := a.sync(ctx, lister)
	a.health.passed()
	if err != nil {
		klog.FromContext(ctx).Error(err, "Pass failed; retrying with backoff", "retries", a.queue.NumRequeues(key))
		a.queue.AddRateLimited(key)
	} else {
		a.queue.Forget(key)
		a.queue.AddAfter(key, a.resync)
	}
	if a.afterPass != nil {
		a.afterPass(rep, err)
	}
	return true
}

// errTransient marks a pass that found a failure that may pass by itself.
var errTransient = errors.New("a step failed and is retried")

// sync runs one pass: checklist, then the applies it calls for.
func (a *Agent) sync(ctx context.Context, lister corelisters.NodeLister) (Report, error) {
	start := a.clock.Now()
	rep, err := a.pass(ctx, lister)
	a.metrics.ObservePass(a.clock.Since(start), err != nil || rep.Transient)
	if err == nil && rep.Transient {
		err = fmt.Errorf("%w: %s", errTransient, rep.notReadySummary())
	}
	return rep, err
}

func (a *Agent) pass(ctx context.Context, lister corelisters.NodeLister) (Report, error) {
	logger := klog.FromContext(ctx)
	node, err := a.readNode(ctx, lister)
	if err != nil {
		return Report{}, err
	}
	rep := a.checklist.Run(ctx, node)
	a.record(rep)
	conds := conditionsFromSteps(rep.stepMap())

	wrote := false
	defer func() { a.readLive = wrote }()
	if rep.Discovered {
		// NVML unreadable: labels and annotation are left as they are, since
		// a passing driver hiccup must not make pods lose their node.
		w, err := writtenBy(node)
		if err != nil {
			return rep, err
		}
		plan, err := planMetadata(node, rep.GPUs, a.setup, a.catalog, w)
		if err != nil {
			return rep, err
		}
		if slicesListCards(node, a.dra, a.setup.pool, a.catalog) {
			plan = plan.withoutDevices(node, w)
		}
		note := plan.keptNote(a.catalog)
		if note != "" {
			d := conds[api.ConditionDriverReady]
			d.Message += "; " + note
			conds[api.ConditionDriverReady] = d
		}
		a.announceKept(node, note)
		if plan.Changes {
			logger.V(2).Info("Applying labels and annotations", "labels", len(plan.Labels), "annotations", len(plan.Annotations))
			_, err := applyMetadata(ctx, a.client, node.Name, plan)
			a.metrics.NodePatched("metadata", err == nil)
			if err != nil {
				return rep, err
			}
			wrote = true
		}
	}
	all, changed := desiredConditions(node, conds, metav1.NewTime(a.clock.Now()))
	if changed > 0 {
		_, err := applyConditions(ctx, a.client, node.Name, all)
		a.metrics.NodePatched("status", err == nil)
		if err != nil {
			return rep, err
		}
		wrote = true
		for _, c := range all {
			if cur := findCondition(node, string(c.Type)); cur == nil || cur.Status != c.Status || cur.Reason != c.Reason || cur.Message != c.Message {
				logger.Info("Condition changed", "type", c.Type, "status", c.Status, "reason", c.Reason, "message", c.Message)
			}
		}
	}
	return rep, nil
}

// readNode returns the node from the informer's cache, or from the API
// server when the cache may be behind: not synced yet, or the last pass
// wrote (a stale copy would make this pass redo the write).
func (a *Agent) readNode(ctx context.Context, lister corelisters.NodeLister) (*corev1.Node, error) {
	var node *corev1.Node
	var err error = apierrors.NewNotFound(corev1.Resource("nodes"), a.nodeName)
	if !a.readLive {
		node, err = lister.Get(a.nodeName)
	}
	if apierrors.IsNotFound(err) {
		node, err = a.client.CoreV1().Nodes().Get(ctx, a.nodeName, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("reading node %q: %w", a.nodeName, err)
	}
	return node, nil
}

// announceKept posts a Warning Event on the node when the labels the agent
// keeps against its own view change (not on every pass).
func (a *Agent) announceKept(node *corev1.Node, note string) {
	if note == a.lastKept {
		return
	}
	a.lastKept = note
	if note == "" || a.recorder == nil {
		return
	}
	a.recorder.Eventf(node, nil, corev1.EventTypeWarning, "LabelKept", "Labeling", "%s", note)
}

func (a *Agent) record(rep Report) {
	for t, r := range conditionsFromSteps(rep.stepMap()) {
		a.metrics.SetCondition(t, r.Verdict == Ready)
	}
	if rep.Discovered {
		a.metrics.SetCards(len(rep.GPUs.Inventory.Cards))
	}
	a.metrics.SetDCGMServed(a.checklist.DCGMServed())
}

// health says whether the worker keeps making passes, failed ones
// included (an unreachable API server is not cured by a restart): the agent
// is live while the last pass ended less than three resyncs ago plus a
// minute, and ready once a pass ended.
type health struct {
	clock  clock.Clock
	window time.Duration

	mu       sync.Mutex
	started  time.Time
	lastPass time.Time
}

func newHealth(clk clock.Clock, resync time.Duration) *health {
	return &health{clock: clk, window: 3*resync + time.Minute, started: clk.Now()}
}

func (h *health) passed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastPass = h.clock.Now()
}

func (h *health) live() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	since := h.lastPass
	if since.IsZero() {
		since = h.started
	}
	if age := h.clock.Since(since); age > h.window {
		return fmt.Errorf("no pass completed for %v", age.Round(time.Second))
	}
	return nil
}

func (h *health) ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastPass.IsZero() {
		return errors.New("no pass completed yet")
	}
	return nil
}
