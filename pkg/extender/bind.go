package extender

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Bind answers kube-scheduler's bind call. The pod's cards are booked on the
// node first, under the node's lock, so that no concurrent bind can take
// them; for a vGPU pod the chosen cards are then written on the pod in one
// patch (gpuplane.io/assigned and the annotations gpu-manager reads), and
// finally the Binding is created. For a pod whose cards HAMi's device
// plugin hands out, HAMi's node lock is taken and HAMi's annotations are
// written instead (bindhami.go), as HAMi's own scheduler does. Any failure
// gives the booking back.
func (e *Extender) Bind(ctx context.Context, args *extenderv1.ExtenderBindingArgs) *extenderv1.ExtenderBindingResult {
	logger := klog.FromContext(ctx).WithValues("pod", klog.KRef(args.PodNamespace, args.PodName), "node", args.Node)
	ctx = klog.NewContext(ctx, logger)
	result, err := e.bind(ctx, args)
	e.metrics.binds.WithLabelValues(result).Inc()
	if err != nil {
		logger.V(1).Info("Bind failed", "result", result, "err", err)
		return &extenderv1.ExtenderBindingResult{Error: err.Error()}
	}
	logger.V(2).Info("Bound")
	if args.PodUID != "" {
		e.refused.Forget(args.PodUID)
	}
	return &extenderv1.ExtenderBindingResult{}
}

func (e *Extender) bind(ctx context.Context, args *extenderv1.ExtenderBindingArgs) (string, error) {
	key := args.PodNamespace + "/" + args.PodName
	if args.PodName == "" || args.Node == "" {
		return bindInvalid, fmt.Errorf("bind: pod %q and node %q must both be named", key, args.Node)
	}
	pod, err := e.pods.Pod(ctx, args.PodNamespace, args.PodName)
	if err != nil {
		return bindInvalid, fmt.Errorf("bind %s: %w", key, err)
	}
	if args.PodUID != "" && pod.UID != args.PodUID {
		return bindInvalid, fmt.Errorf("bind %s: the pod is now uid %s, the scheduler asked for %s", key, pod.UID, args.PodUID)
	}
	if pod.Spec.NodeName != "" {
		if pod.Spec.NodeName == args.Node {
			return bindBound, nil // a retried bind that had succeeded
		}
		return bindInvalid, fmt.Errorf("bind %s to %s: already bound to %s", key, args.Node, pod.Spec.NodeName)
	}
	req, err := request.Of(pod, e.voc)
	if err != nil {
		return bindInvalid, fmt.Errorf("bind %s: %w", key, err)
	}
	var chosen choice
	loads, fresh := e.load.Current()
	err = e.state.Reserve(args.Node, pod.UID, key, func(s *cache.NodeSnapshot) (*cache.Holding, error) {
		if s.Err() != nil {
			return nil, s.Err()
		}
		if fresh {
			// The cards are chosen with their measured load, as the
			// node was scored.
			var n placement.Node
			if withLoad(&n, s.Node(), loads) {
				s = s.WithNode(n)
			}
		}
		c, err := choose(s, &req, e.policy)
		if c.holding != nil {
			c.holding.Priority = corev1helpers.PodPriority(pod)
		}
		chosen = c
		return c.holding, err
	})
	if err != nil {
		return bindNoFit, fmt.Errorf("bind %s to %s: %w", key, args.Node, err)
	}
	if chosen.assignment != nil {
		if err := e.writeAssignment(ctx, pod, *chosen.assignment); err != nil {
			e.state.Forget(pod.UID)
			return bindPatch, err
		}
	}
	if chosen.hami != nil {
		if err := e.lockHAMiNode(ctx, args.Node, pod); err != nil {
			e.state.Forget(pod.UID)
			return bindPatch, fmt.Errorf("bind %s to %s: %w", key, args.Node, err)
		}
		if err := e.writeHAMi(ctx, pod, args.Node, chosen.hami); err != nil {
			e.unlockHAMiNode(ctx, args.Node, pod)
			e.state.Forget(pod.UID)
			return bindPatch, err
		}
	}
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: args.Node},
	}
	if err := e.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		if chosen.hami != nil {
			e.unlockHAMiNode(ctx, args.Node, pod)
		}
		e.state.Forget(pod.UID)
		return bindBinding, fmt.Errorf("bind %s to %s: creating the binding: %w", key, args.Node, err)
	}
	return bindBound, nil
}

// writeAssignment patches the pod, in one request, with the assignment and
// the annotations gpu-manager reads. The patch names the pod's UID, so a
// pod deleted and recreated under the same name is not patched.
func (e *Extender) writeAssignment(ctx context.Context, pod *corev1.Pod, a api.Assignment) error {
	annotations, err := assignmentAnnotations(a, e.now().UnixNano())
	if err != nil {
		return err
	}
	if err := patchPodAnnotations(ctx, e.client, pod.Namespace, pod.Name, pod.UID, annotations); err != nil {
		return fmt.Errorf("writing the cards on pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// patchPodAnnotations merge-patches annotations onto the pod
// namespace/name whose UID is uid. The patch names the UID, so a pod
// deleted and recreated under the same name is not patched: the API server
// refuses to change a UID (Invalid).
func patchPodAnnotations(ctx context.Context, client kubernetes.Interface, namespace, name string, uid types.UID, annotations map[string]string) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": uid, "annotations": annotations},
	})
	if err != nil {
		return fmt.Errorf("encoding the patch: %w", err)
	}
	_, err = client.CoreV1().Pods(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// assignmentAnnotations are the annotations that carry an assignment:
// gpuplane's own JSON, and what tencent gpu-manager reads — the card indexes
// of each container, the node, "not yet allocated" and the decision time in
// nanoseconds.
func assignmentAnnotations(a api.Assignment, nowNanos int64) (map[string]string, error) {
	value, err := api.EncodeAssignment(a)
	if err != nil {
		return nil, err
	}
	out := map[string]string{
		api.AnnotationAssigned:      value,
		api.AnnotationPredicateNode: a.Node,
		api.AnnotationGPUAssigned:   "false",
		api.AnnotationPredicateTime: strconv.FormatInt(nowNanos, 10),
	}
	for _, c := range a.Containers {
		idx := make([]string, len(c.Cards))
		for i, card := range c.Cards {
			idx[i] = strconv.Itoa(card.Index)
		}
		out[api.AnnotationPredicateGPUIdxPrefix+strconv.Itoa(c.Index)] = strings.Join(idx, ",")
	}
	return out, nil
}
