package extender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/api/hami"
)

// errHAMiNodeLocked is a bind refused because HAMi's device plugin has not
// yet allocated the pod bound to the node before: kube-scheduler tries
// again later, as with HAMi's own scheduler.
var errHAMiNodeLocked = errors.New("HAMi node lock held")

// hamiAnnotations are the pod annotations HAMi's scheduler writes (at
// filter and at bind, HAMi v2.6–v2.10) for its device plugin to read at
// Allocate: the cards of each container, the node, when they were chosen,
// and the bind phase "allocating" with its start.
func hamiAnnotations(pd hami.PodDevices, node, now string) (map[string]string, error) {
	v, err := hami.EncodePodDevices(pd)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		hami.AnnotationToAllocate: v,
		hami.AnnotationAllocated:  v,
		hami.AnnotationNode:       node,
		hami.AnnotationTime:       now,
		hami.AnnotationBindPhase:  hami.BindAllocating,
		hami.AnnotationBindTime:   now,
	}, nil
}

// lockHAMiNode takes HAMi's node lock for pod, as HAMi's scheduler does
// before binding: HAMi's device plugin reads the lock to know which pod it
// is allocating, and releases it when done, so that two pods never wait
// for their cards on one node at once. A lock older than
// hami.NodeLockTimeout, or whose pod is gone, is taken over; a live one is
// errHAMiNodeLocked. The patch carries the node's resourceVersion, so two
// binds racing for the lock cannot both win.
func (e *Extender) lockHAMiNode(ctx context.Context, node string, pod *corev1.Pod) error {
	n, err := e.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading node %s for HAMi's node lock: %w", node, err)
	}
	if raw, ok := n.Annotations[hami.AnnotationNodeLock]; ok {
		l, err := hami.DecodeNodeLock(raw)
		switch {
		case err != nil:
			klog.FromContext(ctx).Info("Taking over an unreadable HAMi node lock", "lock", raw, "err", err)
		case l.Namespace == pod.Namespace && l.Name == pod.Name:
			return nil // ours, from an earlier try of this bind
		case e.now().Sub(l.Time) > hami.NodeLockTimeout:
		case l.Name != "":
			if _, err := e.client.CoreV1().Pods(l.Namespace).Get(ctx, l.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%w: node %s: HAMi's device plugin is still allocating %s/%s (since %s)", errHAMiNodeLocked, node, l.Namespace, l.Name, l.Time.Format("15:04:05"))
			}
		default:
			return fmt.Errorf("%w: node %s: locked since %s", errHAMiNodeLocked, node, l.Time.Format("15:04:05"))
		}
	}
	lock := hami.NodeLock{Time: e.now(), Namespace: pod.Namespace, Name: pod.Name}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": n.ResourceVersion,
		"annotations":     map[string]string{hami.AnnotationNodeLock: lock.String()},
	}})
	if err != nil {
		return fmt.Errorf("encoding HAMi's node lock: %w", err)
	}
	if _, err := e.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("%w: node %s changed while taking it: %w", errHAMiNodeLocked, node, err)
		}
		return fmt.Errorf("taking HAMi's node lock on %s: %w", node, err)
	}
	return nil
}

// unlockHAMiNode gives back the node lock pod holds, after a failed bind.
func (e *Extender) unlockHAMiNode(ctx context.Context, node string, pod *corev1.Pod) {
	logger := klog.FromContext(ctx)
	n, err := e.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		logger.Info("Could not read the node to release HAMi's node lock", "err", err)
		return
	}
	l, err := hami.DecodeNodeLock(n.Annotations[hami.AnnotationNodeLock])
	if err != nil || l.Namespace != pod.Namespace || l.Name != pod.Name {
		return // not ours (any more)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": n.ResourceVersion,
		"annotations":     map[string]any{hami.AnnotationNodeLock: nil},
	}})
	if _, err := e.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		logger.Info("Could not release HAMi's node lock; it expires", "err", err, "after", hami.NodeLockTimeout)
	}
}

// writeHAMi patches the pod, in one request that names its UID, with the
// annotations HAMi's device plugin reads.
func (e *Extender) writeHAMi(ctx context.Context, pod *corev1.Pod, node string, pd hami.PodDevices) error {
	annotations, err := hamiAnnotations(pd, node, hami.Unix(e.now()))
	if err != nil {
		return err
	}
	if err := patchPodAnnotations(ctx, e.client, pod.Namespace, pod.Name, pod.UID, annotations); err != nil {
		return fmt.Errorf("writing HAMi's cards on pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
