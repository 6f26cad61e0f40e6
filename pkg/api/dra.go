package api

// Names of what the webhook writes on a pod of a DRA pool and of the
// ResourceClaimTemplates gpuplane keeps for such pods (docs/dra.md).
const (
	// ClaimName names the pod's entry in spec.resourceClaims and the
	// container's entry in resources.claims that carry its cards.
	ClaimName = "gpuplane-gpu"
	// LabelClaimTemplate, on a pod, names the ResourceClaimTemplate of its
	// namespace that the pod's claim is made from; gpuplane creates that
	// template and deletes it when no pod names it any more.
	LabelClaimTemplate = "gpuplane.io/claim-template"
	// LabelManagedBy with value ManagedBy marks the templates gpuplane
	// keeps; it never touches others.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "gpuplane"
	// AnnotationRequest, on a template, is the canonical request it serves.
	AnnotationRequest = "gpuplane.io/request"
)
