package webhook

import (
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	k8sjson "sigs.k8s.io/json"
)

// NewScheme returns a scheme knowing the kinds the webhooks read: pods and the
// workloads that carry a pod template.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NewDecoder returns a decoder for the objects of admission requests, built on
// NewScheme.
func NewDecoder() (admission.Decoder, error) {
	s, err := NewScheme()
	if err != nil {
		return nil, err
	}
	return admission.NewDecoder(s), nil
}

// podView is the part of a pod that Mutate reads and writes; the rest of the pod is
// neither decoded nor patched. The fields carry the Pod's own JSON names and types,
// and decodePod uses the API machinery's JSON decoding, so what is decoded is exactly
// what a full decode would give for these fields.
type podView struct {
	Metadata struct {
		Name         string            `json:"name,omitempty"`
		GenerateName string            `json:"generateName,omitempty"`
		Namespace    string            `json:"namespace,omitempty"`
		Annotations  map[string]string `json:"annotations,omitempty"`
		Labels       map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Name      string                      `json:"name"`
			Resources corev1.ResourceRequirements `json:"resources"`
			Env       []corev1.EnvVar             `json:"env,omitempty"`
		} `json:"containers"`
		Affinity      *corev1.Affinity    `json:"affinity,omitempty"`
		Tolerations   []corev1.Toleration `json:"tolerations,omitempty"`
		SchedulerName string              `json:"schedulerName,omitempty"`
		// ResourceClaims carry the cards of the DRA form.
		ResourceClaims []corev1.PodResourceClaim `json:"resourceClaims,omitempty"`
	} `json:"spec"`
}

// decodePod decodes the fields of raw that Mutate looks at (see podView), the rest
// of the pod left empty.
//
// Decoding a whole pod is most of the cost of an admission (the containers' ports,
// mounts, probes and the volumes are the bulk of a pod's JSON and of the objects a
// decode allocates); decoding only these fields halves the handler's time (see
// BenchmarkPodMutator). The decoder is the API machinery's: case-sensitive, integers
// kept.
func decodePod(raw []byte) (*corev1.Pod, error) {
	if len(raw) == 0 {
		return nil, errors.New("the request has no object")
	}
	var v podView
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &v); err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	pod.Name, pod.GenerateName, pod.Namespace = v.Metadata.Name, v.Metadata.GenerateName, v.Metadata.Namespace
	pod.Annotations, pod.Labels = v.Metadata.Annotations, v.Metadata.Labels
	pod.Spec.ResourceClaims = v.Spec.ResourceClaims
	pod.Spec.Affinity, pod.Spec.Tolerations, pod.Spec.SchedulerName = v.Spec.Affinity, v.Spec.Tolerations, v.Spec.SchedulerName
	if v.Spec.Containers != nil {
		pod.Spec.Containers = make([]corev1.Container, len(v.Spec.Containers))
		for i, c := range v.Spec.Containers {
			pod.Spec.Containers[i] = corev1.Container{Name: c.Name, Resources: c.Resources, Env: c.Env}
		}
	}
	return pod, nil
}
