package webhook

import (
	"bytes"
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// caBundleTarget is one kind of webhook configuration whose webhooks carry a caBundle.
type caBundleTarget interface {
	kind() string
	// setCABundle writes bundle into every webhook of the named configuration and says
	// whether anything had to change; a missing configuration is a NotFound error.
	setCABundle(ctx context.Context, name string, bundle []byte) (bool, error)
}

// configClient is what a caBundle target needs of the typed client of its
// kind: both configuration clients of client-go have these two methods.
type configClient[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, cfg T, opts metav1.UpdateOptions) (T, error)
}

// configTarget is the caBundleTarget of one configuration kind: the two kinds
// differ in their webhook types, not in their client configs.
type configTarget[T any] struct {
	kindName string
	api      configClient[T]
	// clientConfigs returns the client config of each webhook of cfg.
	clientConfigs func(cfg T) []*admissionregistrationv1.WebhookClientConfig
}

// caBundleTargets are the targets of both configuration kinds.
func caBundleTargets(client kubernetes.Interface) []caBundleTarget {
	admission := client.AdmissionregistrationV1()
	return []caBundleTarget{
		configTarget[*admissionregistrationv1.MutatingWebhookConfiguration]{
			kindName: "MutatingWebhookConfiguration",
			api:      admission.MutatingWebhookConfigurations(),
			clientConfigs: func(cfg *admissionregistrationv1.MutatingWebhookConfiguration) []*admissionregistrationv1.WebhookClientConfig {
				return clientConfigsOf(cfg.Webhooks, func(w *admissionregistrationv1.MutatingWebhook) *admissionregistrationv1.WebhookClientConfig {
					return &w.ClientConfig
				})
			},
		},
		configTarget[*admissionregistrationv1.ValidatingWebhookConfiguration]{
			kindName: "ValidatingWebhookConfiguration",
			api:      admission.ValidatingWebhookConfigurations(),
			clientConfigs: func(cfg *admissionregistrationv1.ValidatingWebhookConfiguration) []*admissionregistrationv1.WebhookClientConfig {
				return clientConfigsOf(cfg.Webhooks, func(w *admissionregistrationv1.ValidatingWebhook) *admissionregistrationv1.WebhookClientConfig {
					return &w.ClientConfig
				})
			},
		},
	}
}

func (t configTarget[T]) kind() string { return t.kindName }

func (t configTarget[T]) setCABundle(ctx context.Context, name string, bundle []byte) (bool, error) {
	cfg, err := t.api.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if !fillCABundle(t.clientConfigs(cfg), bundle) {
		return false, nil
	}
	_, err = t.api.Update(ctx, cfg, metav1.UpdateOptions{})
	return err == nil, err
}

// clientConfigsOf returns the client config of each of webhooks.
func clientConfigsOf[W any](webhooks []W, clientConfig func(*W) *admissionregistrationv1.WebhookClientConfig) []*admissionregistrationv1.WebhookClientConfig {
	ccs := make([]*admissionregistrationv1.WebhookClientConfig, len(webhooks))
	for i := range webhooks {
		ccs[i] = clientConfig(&webhooks[i])
	}
	return ccs
}

// fillCABundle writes bundle into each client config and says whether any of
// them had to change.
func fillCABundle(clientConfigs []*admissionregistrationv1.WebhookClientConfig, bundle []byte) bool {
	changed := false
	for _, cc := range clientConfigs {
		if !bytes.Equal(cc.CABundle, bundle) {
			cc.CABundle = bundle
			changed = true
		}
	}
	return changed
}
