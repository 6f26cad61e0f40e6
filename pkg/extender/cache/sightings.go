package cache

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

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
	mu      sync.Mutex
	seen    map[types.UID]struct{}
}

// NewSightings returns the sightings for observe; nil when observe is nil
// (a policy that learns nothing).
func NewSightings(observe func(*placement.Request)) *Sightings {
	if observe == nil {
		return nil
	}
	return &Sightings{observe: observe, seen: make(map[types.UID]struct{})}
}

// first tells whether uid is seen for the first time, and remembers it.
func (s *Sightings) first(uid types.UID) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[uid]; ok {
		return false
	}
	s.seen[uid] = struct{}{}
	return true
}

// forget drops a deleted pod.
func (s *Sightings) forget(uid types.UID) {
	if s == nil {
		return
	}
	s.mu.Lock()
	delete(s.seen, uid)
	s.mu.Unlock()
}

// ObserveRequests shows the learner the requests of the pod uid, which a
// filter call is about to place, unless the pod was seen before: each GPU
// part, or for a pod without cards its host request. Such a pod reaches
// the extender only to be placed by the policy (the webhook's
// --placement-resource), and the simulator's learner sees every pod it places.
func (s *Sightings) ObserveRequests(uid types.UID, req *request.Pod) {
	if s == nil || !s.first(uid) {
		return
	}
	if !req.GPU() {
		s.observe(&req.Parts[0].Req)
		return
	}
	for i := range req.Parts {
		if req.Parts[i].Req.Cards > 0 {
			s.observe(&req.Parts[i].Req)
		}
	}
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
