package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// patchOperation is one operation of a JSON patch. Value is omitted only when nil
// (for "remove").
//
// It is ours rather than gomodules' jsonpatch.Operation (what admission.Response
// encodes from Patches) because that one encodes each value on its own and the whole
// again, three times the work on the admission path; the handler sets the encoded
// patch on the response itself.
type patchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// encodePatch encodes ops as the JSON patch an AdmissionResponse carries.
func encodePatch(ops []patchOperation) ([]byte, error) {
	data, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	return data, nil
}

// buildPatch returns the JSON patch (RFC 6902) that turns orig into mutated, for the
// parts of a pod that Mutate writes: annotations, labels, spec.schedulerName, each
// container's resources and env, spec.affinity, spec.tolerations and
// spec.resourceClaims.
//
// It compares typed objects instead of diffing the JSON of both (as
// admission.PatchResponseFromRaw does) for two reasons: it is several times faster,
// and it never touches a field Mutate did not write, so a field this build's API
// types do not know (a newer API server's) survives. Changed parts are written whole
// with "add", which RFC 6902 defines as "replace" for an existing member, so the patch
// holds however the request's JSON spells empty parts (absent, null or {}).
func buildPatch(orig, mutated *corev1.Pod) []patchOperation {
	if orig == mutated {
		return nil
	}
	var ops []patchOperation
	add := func(path string, value any) {
		ops = append(ops, patchOperation{Op: "add", Path: path, Value: value})
	}

	ops = append(ops, mapOps("/metadata/annotations", orig.Annotations, mutated.Annotations)...)
	ops = append(ops, mapOps("/metadata/labels", orig.Labels, mutated.Labels)...)
	if orig.Spec.SchedulerName != mutated.Spec.SchedulerName {
		add("/spec/schedulerName", mutated.Spec.SchedulerName)
	}
	if len(orig.Spec.Containers) != len(mutated.Spec.Containers) {
		add("/spec/containers", mutated.Spec.Containers)
	} else {
		for i := range mutated.Spec.Containers {
			o, m := &orig.Spec.Containers[i], &mutated.Spec.Containers[i]
			prefix := "/spec/containers/" + strconv.Itoa(i)
			if !equality.Semantic.DeepEqual(o.Resources, m.Resources) {
				add(prefix+"/resources", m.Resources)
			}
			if !equality.Semantic.DeepEqual(o.Env, m.Env) {
				add(prefix+"/env", m.Env)
			}
		}
	}
	if !equality.Semantic.DeepEqual(orig.Spec.Affinity, mutated.Spec.Affinity) {
		add("/spec/affinity", mutated.Spec.Affinity)
	}
	if !equality.Semantic.DeepEqual(orig.Spec.Tolerations, mutated.Spec.Tolerations) {
		add("/spec/tolerations", mutated.Spec.Tolerations)
	}
	if !equality.Semantic.DeepEqual(orig.Spec.ResourceClaims, mutated.Spec.ResourceClaims) {
		add("/spec/resourceClaims", mutated.Spec.ResourceClaims)
	}
	return ops
}

// mapOps adds, changes and removes single entries of the map at path (annotations,
// labels), or writes the whole map when the pod had none.
func mapOps(path string, orig, mutated map[string]string) []patchOperation {
	if len(orig) == 0 {
		if len(mutated) == 0 {
			return nil
		}
		return []patchOperation{{Op: "add", Path: path, Value: mutated}}
	}
	var ops []patchOperation
	keys := make([]string, 0, len(mutated))
	for k, v := range mutated {
		if have, ok := orig[k]; !ok || have != v {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ops = append(ops, patchOperation{Op: "add", Path: path + "/" + escapePointer(k), Value: mutated[k]})
	}
	var gone []string
	for k := range orig {
		if _, ok := mutated[k]; !ok {
			gone = append(gone, k)
		}
	}
	slices.Sort(gone)
	for _, k := range gone {
		ops = append(ops, patchOperation{Op: "remove", Path: path + "/" + escapePointer(k)})
	}
	return ops
}

// escapePointer escapes one JSON pointer token (RFC 6901): "~" as "~0", then "/" as
// "~1", in that order so that an escaped "/" is not escaped again.
func escapePointer(token string) string {
	if !strings.ContainsAny(token, "~/") {
		return token
	}
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}
