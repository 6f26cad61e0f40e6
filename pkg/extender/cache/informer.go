package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
)

// ErrPodNotFound is wrapped when neither the informer nor the API server
// knows a pod.
var ErrPodNotFound = errors.New("pod not found")

// Informers feed a State from the API server: a node informer and a pod
// informer that leaves out finished pods (they hold nothing, and a pod that
// finishes arrives as a deletion). Both keep only what the extender reads
// of each object, so that the cache of a large cluster stays small: of a
// node the cards read from it (see cachedNode); of a pending pod what its
// request is read from; of a bound pod only a summary with the record of
// what it holds (see cachedPod).
type Informers struct {
	nodes, pods       toolscache.SharedIndexInformer
	client            kubernetes.Interface
	nodesReg, podsReg toolscache.ResourceEventHandlerRegistration
}

// NewInformers builds the informers for client and registers the state's
// handlers on them; sightings, when not nil, sees the request of every GPU
// pod once, as it first appears here or in a filter call (the auto policy
// learns the workload mix from it).
func NewInformers(client kubernetes.Interface, state *State, sightings *Sightings) (*Informers, error) {
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(nodeTransform(state)))
	podFactory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTransform(podTransform(state, sightings != nil)),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.AndSelectors(
				fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
				fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
			).String()
		}))
	inf := &Informers{
		nodes:  nodeFactory.Core().V1().Nodes().Informer(),
		pods:   podFactory.Core().V1().Pods().Informer(),
		client: client,
	}
	var err error
	inf.nodesReg, err = inf.nodes.AddEventHandler(nodeHandlers(state))
	if err != nil {
		return nil, fmt.Errorf("registering the node handlers: %w", err)
	}
	inf.podsReg, err = inf.pods.AddEventHandler(podHandlers(state, sightings))
	if err != nil {
		return nil, fmt.Errorf("registering the pod handlers: %w", err)
	}
	return inf, nil
}

// podHandlers hand the state what the pod informer's cache holds: the
// summary of a bound pod (its record, computed once by the transform) or a
// pending pod. sightings, when not nil, sees each GPU pod's requests on
// its first appearance, unless a filter call showed them first.
func podHandlers(state *State, sightings *Sightings) toolscache.ResourceEventHandlerFuncs {
	set := func(obj any, first bool) {
		switch o := obj.(type) {
		case *cachedPod:
			if first && len(o.observed) > 0 {
				sightings.sight(o.uid, func() {
					for _, r := range o.observed {
						sightings.observe(&r) // a copy: the summary is shared
					}
				})
			}
			state.setRecord(o.uid, o.nodeName, o.record)
		case *corev1.Pod:
			if first {
				sightings.ObservePod(o, state.voc)
			}
			state.SetPod(o)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { set(obj, true) },
		UpdateFunc: func(_, obj any) { set(obj, false) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			switch o := obj.(type) {
			case *cachedPod:
				sightings.forget(o.uid)
				state.deleteRecord(o.uid, o.nodeName)
			case *corev1.Pod:
				sightings.forget(o.UID)
				state.DeletePod(o)
			}
		},
	}
}

// Run runs the informers until ctx ends and both have stopped.
func (i *Informers) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { i.nodes.RunWithContext(ctx) })
	i.pods.RunWithContext(ctx)
	wg.Wait()
}

// Synced tells whether both informers listed everything and the state has
// seen all of it.
func (i *Informers) Synced() bool {
	return i.nodesReg.HasSynced() && i.podsReg.HasSynced()
}

// WaitForSync waits until Synced or ctx ends.
func (i *Informers) WaitForSync(ctx context.Context) bool {
	return toolscache.WaitForCacheSync(ctx.Done(), i.nodesReg.HasSynced, i.podsReg.HasSynced)
}

// Pod finds a pod: from the informer's cache, else (a pod newer
// than the cache) from the API server. A pod the cache holds as bound comes
// back with its identity, node and phase only, all that bind reads of a
// bound pod.
func (i *Informers) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	obj, ok, err := i.pods.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil {
		return nil, fmt.Errorf("reading pod %s/%s from the cache: %w", namespace, name, err)
	}
	if ok {
		switch o := obj.(type) {
		case *corev1.Pod:
			return o, nil
		case *cachedPod:
			return o.pod(), nil
		}
	}
	pod, err := i.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s/%s", ErrPodNotFound, namespace, name)
	}
	return pod, err
}

// nodeHandlers hand the state what the node informer's cache holds: the
// summary of each node.
func nodeHandlers(state *State) toolscache.ResourceEventHandlerFuncs {
	set := func(obj any) {
		switch o := obj.(type) {
		case *cachedNode:
			state.setNodeInfo(o.name, o.info)
		case *corev1.Node:
			state.SetNode(o)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj any) { set(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, err := meta.Accessor(obj); err == nil {
				state.DeleteNode(m.GetName())
			}
		},
	}
}

// keptAnnotation tells whether the extender reads an annotation: gpuplane's
// and gpu-manager's. Others (last-applied configurations can be large) are
// dropped from the cache.
func keptAnnotation(key string) bool {
	return strings.HasPrefix(key, "gpuplane.io/") || strings.HasPrefix(key, "tencent.com/")
}

// podTransform is the pod informer's transform: a bound pod becomes its
// summary, with its record computed with s's vocabulary (and its GPU
// requests kept when learn is set), a pending pod is trimmed to what bind
// reads. It passes what it already transformed through unchanged.
func podTransform(s *State, learn bool) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		p, ok := obj.(*corev1.Pod)
		switch {
		case !ok:
			return obj, nil
		case p.Spec.NodeName != "":
			return s.summarize(p, learn), nil
		}
		return trimPod(p), nil
	}
}

func trimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		DeletionTimestamp: m.DeletionTimestamp,
	}
	for k, v := range m.Annotations {
		if keptAnnotation(k) {
			if out.Annotations == nil {
				out.Annotations = make(map[string]string)
			}
			out.Annotations[k] = v
		}
	}
	return out
}

func trimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: trimMeta(p.ObjectMeta)}
	out.Spec = corev1.PodSpec{
		NodeName: p.Spec.NodeName, SchedulerName: p.Spec.SchedulerName,
		NodeSelector: p.Spec.NodeSelector, Overhead: p.Spec.Overhead, Resources: p.Spec.Resources,
		Priority: p.Spec.Priority, // what bind books the pod with, for preemption
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		out.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
		}}
	}
	out.Spec.Containers = make([]corev1.Container, len(p.Spec.Containers))
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		out.Spec.Containers[i] = corev1.Container{Name: c.Name, Resources: corev1.ResourceRequirements{Limits: c.Resources.Limits, Requests: c.Resources.Requests}}
	}
	if len(p.Spec.InitContainers) > 0 {
		out.Spec.InitContainers = make([]corev1.Container, len(p.Spec.InitContainers))
		for i := range p.Spec.InitContainers {
			c := &p.Spec.InitContainers[i]
			out.Spec.InitContainers[i] = corev1.Container{Name: c.Name, RestartPolicy: c.RestartPolicy,
				Resources: corev1.ResourceRequirements{Limits: c.Resources.Limits, Requests: c.Resources.Requests}}
		}
	}
	out.Status.Phase = p.Status.Phase
	return out
}

// Pending returns the pods the informer holds that wait for a node and are
// not being deleted, as the cache keeps them (trimmed to what the extender
// reads: gpuplane's and gpu-manager's annotations, resources, affinity).
// The pods are the cache's own: callers must not change them.
func (i *Informers) Pending() []*corev1.Pod {
	var out []*corev1.Pod
	for _, obj := range i.pods.GetIndexer().List() {
		// A bound pod is held as its summary (a *cachedPod), a pending
		// one as a trimmed *corev1.Pod (podTransform).
		if p, ok := obj.(*corev1.Pod); ok && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}
