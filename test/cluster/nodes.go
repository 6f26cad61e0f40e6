package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrNodeSpec marks a NodeSpec that cannot be turned into a Node.
var ErrNodeSpec = errors.New("invalid node spec")

// NodeSpec describes a node to add. Nothing runs on it: it is a Node object the
// scheduler can place pods on.
type NodeSpec struct {
	// Name of the Node; required.
	Name string
	// Labels and Annotations of the Node. Default: none, apart from
	// kubernetes.io/hostname and kubernetes.io/os, which are set unless given.
	Labels      map[string]string
	Annotations map[string]string
	// Capacity maps resource names to quantities as Kubernetes writes them
	// ("nvidia.com/gpu": "8", "memory": "512Gi"). Allocatable is the same.
	// Default: cpu "64", memory "512Gi", pods "110", ephemeral-storage "1Ti", each unless given.
	Capacity map[string]string
	// Taints of the Node. Default: none.
	Taints []corev1.Taint
}

func defaultNodeCapacity() map[string]string {
	return map[string]string{"cpu": "64", "memory": "512Gi", "pods": "110", "ephemeral-storage": "1Ti"}
}

// node returns the Node object and its status for spec.
func (spec NodeSpec) node() (*corev1.Node, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("%w: Name is empty", ErrNodeSpec)
	}
	capacity := defaultNodeCapacity()
	maps.Copy(capacity, spec.Capacity)
	resources := corev1.ResourceList{}
	for name, value := range capacity {
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("%w: node %q: capacity %s=%q is not a quantity such as \"8\" or \"80Gi\": %w",
				ErrNodeSpec, spec.Name, name, value, err)
		}
		resources[corev1.ResourceName(name)] = q
	}
	labels := map[string]string{"kubernetes.io/hostname": spec.Name, "kubernetes.io/os": "linux"}
	maps.Copy(labels, spec.Labels)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: labels, Annotations: maps.Clone(spec.Annotations)},
		Spec:       corev1.NodeSpec{Taints: spec.Taints},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Phase:       corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{{
				Type:    corev1.NodeReady,
				Status:  corev1.ConditionTrue,
				Reason:  "KubeletReady",
				Message: "simulated node: no kubelet runs, the harness reports it ready",
			}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: spec.Name}},
		},
	}, nil
}

// AddGPUNode creates a Node with the given labels, annotations, capacity (allocatable
// alike) and taints, and a Ready condition, so the scheduler treats it as a healthy
// node. The status is then written through the status subresource, as a kubelet's
// heartbeat would, so that it is stored whatever the create path keeps of it. The
// returned Node is as the API server stored it.
func (c *Cluster) AddGPUNode(ctx context.Context, spec NodeSpec) (*corev1.Node, error) {
	want, err := spec.node()
	if err != nil {
		return nil, err
	}
	nodes := c.client.CoreV1().Nodes()
	created, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating node %q: %w", spec.Name, err)
	}
	now := metav1.Now()
	created.Status = *want.Status.DeepCopy()
	for i := range created.Status.Conditions {
		created.Status.Conditions[i].LastHeartbeatTime = now
		created.Status.Conditions[i].LastTransitionTime = now
	}
	updated, err := nodes.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("setting the status of node %q: %w", spec.Name, err)
	}
	// The TaintNodesByCondition admission plugin gives every new Node the not-ready
	// taint, which the node lifecycle controller lifts once the kubelet reports Ready.
	// No such controller runs here, so the harness lifts it, keeping the given taints.
	if taints := withoutAddedNotReady(updated.Spec.Taints, spec.Taints); len(taints) != len(updated.Spec.Taints) {
		updated.Spec.Taints = taints
		if updated, err = nodes.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("lifting the not-ready taint of node %q: %w", spec.Name, err)
		}
	}
	return updated, nil
}

// withoutAddedNotReady returns taints less the not-ready taint, unless the spec asked
// for that taint itself.
func withoutAddedNotReady(taints, asked []corev1.Taint) []corev1.Taint {
	for _, t := range asked {
		if t.Key == corev1.TaintNodeNotReady {
			return taints
		}
	}
	kept := make([]corev1.Taint, 0, len(taints))
	for _, t := range taints {
		if t.Key != corev1.TaintNodeNotReady {
			kept = append(kept, t)
		}
	}
	return kept
}
