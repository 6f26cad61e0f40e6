package extender

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
)

// DefaultRequeueWindow is how long after a filter call that found no node
// for a pod a change that may make room has the pod tried again. The race
// it covers (Requeuer) lasts as long as one watch runs ahead of another:
// milliseconds, seconds on an overloaded API server.
const DefaultRequeueWindow = 2 * time.Second

// maxRefused bounds the pods a Requeuer remembers; past it, those older than
// the window are swept out when another comes.
const maxRefused = 4096

// Requeuer has kube-scheduler try again the pods the extender found no node
// for just before a change that may have made room for them.
//
// kube-scheduler keeps a pod the extender refused everywhere among its
// unschedulable pods and tries it again on the next cluster event. Its
// informers and the extender's are two watches: when a node's cards come
// back or a pod holding some goes, kube-scheduler may see it first and try
// the pod at once (it takes pods in backoff when none other waits), to be
// answered from the extender's picture of a moment before. The pod would
// then wait for another event, in a quiet cluster up to kube-scheduler's
// five-minute flush of unschedulable pods. So the Requeuer remembers, for
// a window, each pod a filter call found no node for, with the state's
// count of such changes (cache.State.Freed) when the call began; after a
// later change it writes the time on the pod's gpuplane.io/requeued
// annotation, an update of the pod that has kube-scheduler try it again.
// A pod refused with no change since is left alone.
type Requeuer struct {
	client kubernetes.Interface
	state  *cache.State
	clock  clock.PassiveClock
	window time.Duration
	logger klog.Logger
	// count counts the pods requeued, when not nil.
	count func()

	// wake has Run requeue at once: a pod was refused on a picture a
	// change has already moved past, whose signal Run may have taken
	// before the pod was recorded.
	wake chan struct{}

	mu      sync.Mutex
	refused map[types.UID]refusedPod
}

// refusedPod is a pod a filter call found no node for.
type refusedPod struct {
	uid             types.UID
	namespace, name string
	// at is when the call ended; freed is the state's Freed when it began.
	at    time.Time
	freed uint64
}

// NewRequeuer returns a Requeuer that patches pods through client after a
// change state counts, for pods refused at most window before it. count,
// when not nil, is called for each pod requeued.
func NewRequeuer(client kubernetes.Interface, state *cache.State, clk clock.PassiveClock, window time.Duration, logger klog.Logger, count func()) *Requeuer {
	return &Requeuer{client: client, state: state, clock: clk, window: window, logger: logger, count: count,
		refused: make(map[types.UID]refusedPod), wake: make(chan struct{}, 1)}
}

// Refused records that a filter call, begun when the state's Freed was
// freed, found no node for pod. A nil Requeuer records nothing.
func (r *Requeuer) Refused(pod *corev1.Pod, freed uint64) {
	if r == nil {
		return
	}
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.refused) >= maxRefused {
		r.sweep(now)
	}
	r.refused[pod.UID] = refusedPod{uid: pod.UID, namespace: pod.Namespace, name: pod.Name, at: now, freed: freed}
	if r.state.Freed() != freed {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// sweep forgets the pods refused longer than the window ago. r.mu is held.
func (r *Requeuer) sweep(now time.Time) {
	for uid, p := range r.refused {
		if now.Sub(p.at) > r.window {
			delete(r.refused, uid)
		}
	}
}

// Run requeues after each change the state signals, until ctx ends.
func (r *Requeuer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.state.FreedSignal():
			r.Requeue(ctx)
		case <-r.wake:
			r.Requeue(ctx)
		}
	}
}

// Requeue patches the pods refused within the window before a change the
// state counted since their call began, and forgets them and the pods
// refused before the window; it returns how many it patched.
func (r *Requeuer) Requeue(ctx context.Context) int {
	now, freed := r.clock.Now(), r.state.Freed()
	var due []refusedPod
	r.mu.Lock()
	for uid, p := range r.refused {
		switch {
		case now.Sub(p.at) > r.window:
			delete(r.refused, uid)
		case p.freed < freed:
			due = append(due, p)
			delete(r.refused, uid)
		}
	}
	r.mu.Unlock()
	patched := 0
	for _, p := range due {
		ok, err := r.patch(ctx, p, now)
		if err != nil {
			r.logger.Info("Could not have kube-scheduler try a pending pod again", "pod", klog.KRef(p.namespace, p.name), "err", err)
		}
		if !ok {
			continue
		}
		r.logger.V(2).Info("Had kube-scheduler try a pending pod again after a change", "pod", klog.KRef(p.namespace, p.name))
		patched++
		if r.count != nil {
			r.count()
		}
	}
	return patched
}

// patch writes now on the pod's gpuplane.io/requeued annotation and tells
// whether it did. A pod recreated under the same name is not touched
// (patchPodAnnotations: Invalid); a pod gone meanwhile (NotFound, or
// Conflict when it went during the patch) is no error.
func (r *Requeuer) patch(ctx context.Context, p refusedPod, now time.Time) (bool, error) {
	err := patchPodAnnotations(ctx, r.client, p.namespace, p.name, p.uid,
		map[string]string{api.AnnotationRequeued: now.UTC().Format(time.RFC3339Nano)})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err):
		return false, nil // gone, or another pod under the name
	default:
		return false, err
	}
}
