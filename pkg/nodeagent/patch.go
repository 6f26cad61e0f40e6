package nodeagent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// FieldManager names the agent in the node's managed fields; it is how the
// agent knows which labels and annotations it wrote.
const FieldManager = "gpuplane-nodeagent"

// StatusFieldManager names the agent's applies of its conditions. A name
// of its own keeps each manager's entry to one part of the node, so that
// no apply of one part can drop the other's fields (client-go's fake
// clientset, unlike the API server, does not tell subresources apart).
const StatusFieldManager = "gpuplane-nodeagent-status"

// applyMetadata applies the plan's labels and annotations with server-side
// apply. Keys the agent wrote before and the plan leaves out are removed by
// the API server; keys of other managers are untouched. It does not force:
// a person changing one of the agent's keys between the read and the apply
// makes the apply fail with a conflict, and the next pass sees the key as
// theirs.
func applyMetadata(ctx context.Context, client kubernetes.Interface, name string, p metadataPlan) (*corev1.Node, error) {
	ac := corev1ac.Node(name)
	if len(p.Labels) > 0 {
		ac.WithLabels(p.Labels)
	}
	if len(p.Annotations) > 0 {
		ac.WithAnnotations(p.Annotations)
	}
	node, err := client.CoreV1().Nodes().Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("applying the labels and annotations of node %q: %w", name, err)
	}
	return node, nil
}

// applyConditions applies the agent's four conditions, all of them (one
// left out would be removed), to the status subresource. Conditions merge
// by type, so the kubelet's are untouched. It forces: these condition types
// are the agent's alone, and an agent that wrote them by merge patch
// before must be able to take them over.
func applyConditions(ctx context.Context, client kubernetes.Interface, name string, conds []corev1.NodeCondition) (*corev1.Node, error) {
	ac := corev1ac.Node(name).WithStatus(corev1ac.NodeStatus())
	for _, c := range conds {
		ac.Status.WithConditions(corev1ac.NodeCondition().
			WithType(c.Type).WithStatus(c.Status).WithReason(c.Reason).WithMessage(c.Message).
			WithLastHeartbeatTime(c.LastHeartbeatTime).WithLastTransitionTime(c.LastTransitionTime))
	}
	node, err := client.CoreV1().Nodes().ApplyStatus(ctx, ac, metav1.ApplyOptions{FieldManager: StatusFieldManager, Force: true})
	if err != nil {
		return nil, fmt.Errorf("applying the conditions of node %q: %w", name, err)
	}
	return node, nil
}
