package webhook

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
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
