package cache

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Sightings shows a learning policy each pod's requests once, at the pod's
// first sight: for a GPU pod the pod informer's, or a filter call's when
// kube-scheduler asks about a pod the informer has not delivered yet (both
// watch the API server, and the scheduler's event may come first). The
// learner has then always seen the pod it places, as in the simulator,
// whichever event wins. A nil *Sightings observes nothing.
type Sightings struct {
	observe func(*placement.Request)
	clock   clock.PassiveClock
	mu      sync.Mutex
	seen    map[types.UID]struct{}
	// gone are the deleted pods still in seen, oldest first: kube-scheduler
	// may ask about a pod after the informer here delivered its deletion
	// (it retries an unschedulable pod before its own informer shows it
	// deleted), and that pod must not count twice. A pod's UID is never
	// reused, so keeping it a while is safe; keeping it for ever is not
	// (memory).
	gone []deletedPod
}

// deletedPod is a pod the informer delivered deleted, at at.
type deletedPod struct {
	uid types.UID
	at  time.Time
}

// rememberDeleted is how long a deleted pod stays seen: far longer than
// kube-scheduler takes to learn of a deletion.
const rememberDeleted = 5 * time.Minute

// NewSightings returns the sightings for observe; nil when observe is nil
// (a policy that learns nothing). clk dates deletions.
func NewSightings(observe func(*placement.Request), clk clock.PassiveClock) *Sightings {
	if observe == nil {
		return nil
	}
	return &Sightings{observe: observe, clock: clk, seen: make(map[types.UID]struct{})}
}

// sight runs show, which shows the learner the requests of the pod uid,
// unless the pod was seen before. The lock is held until show returns: a
// caller that finds the pod seen (the filter call placing it, while the
// informer's handler is still showing it) waits until the pod is in the
// mix, so that no pod is placed against a mix that lacks it.
func (s *Sightings) sight(uid types.UID, show func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[uid]; ok {
		return
	}
	s.seen[uid] = struct{}{}
	show()
}

// forget drops a deleted pod, rememberDeleted after its deletion, and the
// pods deleted longer ago.
func (s *Sightings) forget(uid types.UID) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if _, ok := s.seen[uid]; ok {
		s.gone = append(s.gone, deletedPod{uid: uid, at: now})
	}
	k := 0
	for k < len(s.gone) && now.Sub(s.gone[k].at) >= rememberDeleted {
		delete(s.seen, s.gone[k].uid)
		k++
	}
	s.gone = s.gone[k:]
}

// ObserveRequests shows the learner the requests of the pod uid, which a
// filter call is about to place, unless the pod was seen before: each GPU
// part, or for a pod without cards its host request. Such a pod reaches
// the extender only to be placed by the policy (the webhook's
// --placement-resource), and the simulator's learner sees every pod it places.
func (s *Sightings) ObserveRequests(uid types.UID, req *request.Pod) {
	s.sight(uid, func() {
		if !req.GPU() {
			s.observe(&req.Parts[0].Req)
			return
		}
		for i := range req.Parts {
			if req.Parts[i].Req.Cards > 0 {
				s.observe(&req.Parts[i].Req)
			}
		}
	})
}

// ObservePod is ObserveRequests for a GPU pod the informer delivers, read
// with v. A pod without cards is left to the filter call that places it:
// the informer also delivers the pods the extender never places (those of
// other schedulers, DaemonSets), which the learner must not count.
func (s *Sightings) ObservePod(pod *corev1.Pod, v *request.Vocabulary) {
	if s == nil {
		return
	}
	if req, err := request.Of(pod, v); err == nil && req.GPU() {
		s.ObserveRequests(pod.UID, &req)
	}
}
