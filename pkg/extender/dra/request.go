package dra

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/gpuspec"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// ErrRequest marks a pod in the DRA form whose request cannot be read.
var ErrRequest = errors.New("unusable DRA request")

// Request returns the placement request of a pod in gpuplane's DRA form: one
// whose spec.resourceClaims holds the webhook's claim (api.ClaimName), with
// the cards its gpuplane.io/applied annotation names (whole cards, all of one
// of the types in order). ok is false for any other pod.
func Request(pod *corev1.Pod) (req request.Pod, ok bool, err error) {
	if !slices.ContainsFunc(pod.Spec.ResourceClaims, func(c corev1.PodResourceClaim) bool {
		return c.Name == api.ClaimName && c.ResourceClaimTemplateName != nil
	}) {
		return request.Pod{}, false, nil
	}
	applied, found := pod.Annotations[api.AnnotationApplied]
	if !found {
		return request.Pod{}, true, fmt.Errorf("%w: the pod has claim %s but no %s annotation", ErrRequest, api.ClaimName, api.AnnotationApplied)
	}
	r, err := gpuspec.Parse(applied)
	if err != nil {
		return request.Pod{}, true, fmt.Errorf("%w: %s: %w", ErrRequest, api.AnnotationApplied, err)
	}
	if r.Count == 0 || r.Hundredths != 0 || r.VGPU || r.Scope != "" || r.MemoryBytes != 0 {
		return request.Pod{}, true, fmt.Errorf("%w: %s %q is not whole cards", ErrRequest, api.AnnotationApplied, applied)
	}
	part := placement.Request{Cards: r.Count, Milli: placement.MilliPerCard, Types: r.Names}
	part.CPUMilli, part.MemoryMiB = request.Host(pod)
	if err := part.Validate(); err != nil {
		return request.Pod{}, true, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	return request.Pod{Parts: []request.Part{{Container: request.WholeContainer, Req: part}}}, true, nil
}
