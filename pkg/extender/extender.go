package extender

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/dra"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// LoadView is where prioritize reads measured GPU load; *load.Source is one
// (a nil *load.Source has no data, for a program without Prometheus).
type LoadView interface {
	// Current returns the latest load when it is fresh enough to use.
	Current() (*load.Snapshot, bool)
	// RecordMissing counts nodes scored without load although it was fresh.
	RecordMissing(n int)
}

var _ LoadView = (*load.Source)(nil)

// PodGetter finds the pod a bind is about. A pod already bound may come
// back with its identity, node and phase only: bind reads no more of it.
type PodGetter interface {
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
}

var _ PodGetter = (*cache.Informers)(nil)

// Config is what an Extender is built from. Every field is required but
// Load and Clock.
type Config struct {
	State      *cache.State
	Vocabulary *request.Vocabulary
	// Policy scores nodes and chooses cards; the same value the simulator
	// would use.
	Policy placement.Policy
	// Load is measured GPU load; nil means none.
	Load LoadView
	// Client creates the bindings and patches pods.
	Client  kubernetes.Interface
	Pods    PodGetter
	Metrics *Metrics
	// Clock stamps tencent.com/predicate-time. Default: the real clock.
	Clock clock.PassiveClock
	// Sightings, when not nil, is the learner's (the informers' too): a
	// filter call shows it a pod the informer has not delivered yet.
	Sightings *cache.Sightings
	// Refusals, when not nil, keeps the latest filter verdict on each GPU
	// pod, for the web page to say why a pod waits. Default nil: nothing
	// is kept, and filter does no work for it.
	Refusals *refusals.Record
	// DRA, when not nil, is the picture of the nodes of DRA pools: pods in
	// gpuplane's DRA form are filtered and scored on it (dra.go).
	DRA *dra.View
	// Requeuer, when not nil, learns of each pod filter finds no node for,
	// to have kube-scheduler try it again after a change that may make
	// room (requeue.go).
	Requeuer *Requeuer
}

// Extender answers kube-scheduler's filter, prioritize and bind calls.
type Extender struct {
	state   *cache.State
	voc     *request.Vocabulary
	policy  placement.Policy
	load    LoadView
	client  kubernetes.Interface
	pods    PodGetter
	metrics *Metrics
	clock   clock.PassiveClock
	seen    *cache.Sightings
	refused *refusals.Record
	dra     *dra.View
	requeue *Requeuer
	// outcomes lends filter and filter-best their working memory.
	outcomes outcomePool
}

// New returns an extender for cfg.
func New(cfg Config) (*Extender, error) {
	if cfg.State == nil || cfg.Vocabulary == nil || cfg.Policy == nil || cfg.Client == nil || cfg.Pods == nil || cfg.Metrics == nil {
		return nil, errors.New("extender: state, vocabulary, policy, client, pod getter and metrics are required")
	}
	if cfg.Load == nil {
		cfg.Load = (*load.Source)(nil)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Extender{
		state: cfg.State, voc: cfg.Vocabulary, policy: cfg.Policy, load: cfg.Load,
		client: cfg.Client, pods: cfg.Pods, metrics: cfg.Metrics, clock: cfg.Clock, seen: cfg.Sightings,
		refused: cfg.Refusals, dra: cfg.DRA, requeue: cfg.Requeuer,
	}, nil
}

// now is the extender's clock reading, for predicate-time.
func (e *Extender) now() time.Time { return e.clock.Now() }
