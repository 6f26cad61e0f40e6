package nodeagent

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// metadataPatch is a JSON merge patch of the changed labels and
// annotations: a key with null is removed, keys not named are untouched.
func metadataPatch(ch metadataChange) ([]byte, error) {
	meta := map[string]map[string]*string{}
	if len(ch.Labels) > 0 {
		meta["labels"] = ch.Labels
	}
	if len(ch.Annotations) > 0 {
		meta["annotations"] = ch.Annotations
	}
	return json.Marshal(map[string]any{"metadata": meta})
}

// statusPatch is a strategic merge patch of the changed conditions; node
// conditions merge by type, so the kubelet's and other agents' conditions
// are untouched.
func statusPatch(conds []corev1.NodeCondition) ([]byte, error) {
	return json.Marshal(map[string]any{"status": map[string]any{"conditions": conds}})
}

// patchNode sends the patches that are not empty and returns the node as
// the API server has it after them (node itself when nothing was sent);
// patched learns each version a patch replaced and produced. It is the only
// place the agent writes to the API server.
func patchNode(ctx context.Context, client kubernetes.Interface, node *corev1.Node, ch metadataChange, conds []corev1.NodeCondition,
	observe func(part string, ok bool), patched func(before, after *corev1.Node)) (*corev1.Node, error) {
	nodes := client.CoreV1().Nodes()
	if !ch.empty() {
		body, err := metadataPatch(ch)
		if err != nil {
			return node, fmt.Errorf("building the metadata patch of node %q: %w", node.Name, err)
		}
		after, err := nodes.Patch(ctx, node.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
		observe("metadata", err == nil)
		if err != nil {
			return node, fmt.Errorf("patching the labels and annotations of node %q: %w", node.Name, err)
		}
		patched(node, after)
		node = after
	}
	if len(conds) > 0 {
		body, err := statusPatch(conds)
		if err != nil {
			return node, fmt.Errorf("building the status patch of node %q: %w", node.Name, err)
		}
		after, err := nodes.Patch(ctx, node.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}, "status")
		observe("status", err == nil)
		if err != nil {
			return node, fmt.Errorf("patching the conditions of node %q: %w", node.Name, err)
		}
		patched(node, after)
		node = after
	}
	return node, nil
}

// FieldManager names the agent in the node's managed fields.
const FieldManager = "gpuplane-nodeagent"
