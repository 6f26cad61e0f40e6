package webhook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// applyClaim writes the DRA form: the pod's claim made from the plan's template,
// given to container c, and the label that names the template so that gpuplane
// creates it in the pod's namespace (docs/dra.md). Nothing is created here: the
// admission may still be refused by another webhook or the API server. A container
// that also asks the vendor's resource, or a pod whose claim of the same name comes
// from elsewhere, is refused rather than rewritten.
func (p plan) applyClaim(pod *corev1.Pod, c *corev1.Container) error {
	if p.template == nil {
		return nil
	}
	name := p.template.Name
	for _, list := range []corev1.ResourceList{c.Resources.Limits, c.Resources.Requests} {
		if q, ok := list[p.vendorResource]; ok {
			return &refusal{class: ErrConflict, msg: fmt.Sprintf(
				"%s %q gives the cards through a ResourceClaim (the pool allocates by DRA), but container %q also asks %s: %s; remove that resource",
				api.AnnotationGPU, p.input, c.Name, p.vendorResource, q.String())}
		}
	}
	i := slices.IndexFunc(pod.Spec.ResourceClaims, func(rc corev1.PodResourceClaim) bool { return rc.Name == api.ClaimName })
	if i >= 0 {
		rc := pod.Spec.ResourceClaims[i]
		if rc.ResourceClaimName != nil || rc.ResourceClaimTemplateName == nil || *rc.ResourceClaimTemplateName != name {
			return &refusal{class: ErrConflict, msg: fmt.Sprintf(
				"%s %q needs the pod's resource claim %q made from template %s, but the pod already has a claim of that name from elsewhere; remove it",
				api.AnnotationGPU, p.input, api.ClaimName, name)}
		}
	} else {
		pod.Spec.ResourceClaims = append(pod.Spec.ResourceClaims, corev1.PodResourceClaim{Name: api.ClaimName, ResourceClaimTemplateName: &name})
	}
	if !slices.ContainsFunc(c.Resources.Claims, func(rc corev1.ResourceClaim) bool { return rc.Name == api.ClaimName }) {
		c.Resources.Claims = append(c.Resources.Claims, corev1.ResourceClaim{Name: api.ClaimName})
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[api.LabelClaimTemplate] = name
	return nil
}

// quoteAsWritten gives a request error the input as the person wrote it: the
// catalog quotes the canonical form of requests it has already resolved.
func quoteAsWritten(err error, input string) string {
	var e *gpuspec.Error
	if !errors.As(err, &e) || e.Input == input {
		return err.Error()
	}
	return strings.Replace(err.Error(), gpuspec.QuoteInput(e.Input), gpuspec.QuoteInput(input), 1)
}
