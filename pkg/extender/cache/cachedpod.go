package cache

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// cachedPod is what the pod informer's cache keeps of a bound pod: its
// identity, its node and phase, and the record of what it holds, computed
// once when the pod arrives. A bound pod is read only by the state (which
// needs the record) and by its deletion (UID and node), so the cache need
// not keep its containers, whose decoded resource maps are most of a
// pod's memory; at 40,000 running pods that is the difference between the
// extender's heap fitting its budget or not. Pending pods stay *corev1.Pod:
// bind reads their request.
//
// A cachedPod is shared by the cache, the event handlers and the state, so
// it and its record are never changed once built.
type cachedPod struct {
	// key is namespace/name, uid and resourceVersion the pod's: what the
	// cache's key, the informer's resync check and a bind's identity check
	// read (see GetObjectMeta).
	key             string
	uid             types.UID
	resourceVersion string
	nodeName        string
	phase           corev1.PodPhase
	// record is what the pod holds on nodeName; nil when it holds nothing
	// (its containers are done).
	record *podRecord
	// observed are the pod's GPU requests for the auto policy's learner,
	// kept only when there is a learner and the pod asks for cards.
	observed []placement.Request
}

// A cachedPod is not an API object, yet it sits in the informer's cache:
// the pod informer's transform (podTransform, registered with
// informers.WithTransform) replaces each bound Pod by its summary before
// the cache stores it, and client-go stores whatever the transform
// returns. The cache only needs three things of what it stores: the key
// and the resourceVersion, read through meta.Accessor (hence
// GetObjectMeta), and a runtime.Object where it copies objects (its
// mutation detector calls DeepCopyObject). So a cachedPod implements those
// two interfaces and nothing else; it is never encoded, listed from the
// API, or handed to anything but this package's handlers and Pod. The
// library's own way, a transform that trims the Pod, keeps a *corev1.Pod
// per pod with its containers' resource maps: that is what pending pods
// get (trimPod, bind reads their request), and what the summaries of bound
// pods avoid (BenchmarkStateMemory measures them).
var (
	_ metav1.ObjectMetaAccessor = (*cachedPod)(nil)
	_ runtime.Object            = (*cachedPod)(nil)
)

// GetObjectMeta implements metav1.ObjectMetaAccessor. The metadata is built
// when asked for (a few times per event) rather than kept: a whole
// ObjectMeta would be most of each summary.
func (c *cachedPod) GetObjectMeta() metav1.Object {
	ns, name, _ := strings.Cut(c.key, "/")
	return &metav1.ObjectMeta{Namespace: ns, Name: name, UID: c.uid, ResourceVersion: c.resourceVersion}
}

// GetObjectKind implements runtime.Object: a cachedPod is never encoded, so
// it has no kind of its own.
func (c *cachedPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object. Everything a summary holds is
// immutable, so the copy shares it.
func (c *cachedPod) DeepCopyObject() runtime.Object {
	out := *c
	return &out
}

// pod returns a Pod with what the cache knows of a bound pod: its identity,
// node and phase. That is all bind reads of a pod that is already bound.
func (c *cachedPod) pod() *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: *c.GetObjectMeta().(*metav1.ObjectMeta)}
	p.Spec.NodeName = c.nodeName
	p.Status.Phase = c.phase
	return p
}

// summarize builds the cache's summary of a bound pod with s's vocabulary;
// learn keeps its GPU requests for the learner. The record's strings are
// the state's single copies, so that 40,000 summaries keep no part of the
// decoded pods alive.
func (s *State) summarize(pod *corev1.Pod, learn bool) *cachedPod {
	key := pod.Namespace + "/" + pod.Name
	c := &cachedPod{
		key: key, uid: pod.UID, resourceVersion: pod.ResourceVersion,
		nodeName: pod.Spec.NodeName, phase: pod.Status.Phase,
	}
	if terminated(pod) {
		return c
	}
	req, err := request.Of(pod, s.voc)
	c.record = s.internRecord(recordFrom(pod, key, req, err))
	if learn && err == nil {
		for i := range req.Parts {
			if r := req.Parts[i].Req; r.Cards > 0 {
				r.Types = s.internTypeList(r.Types)
				c.observed = append(c.observed, r)
			}
		}
	}
	return c
}
