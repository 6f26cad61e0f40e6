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

type mutatingTarget struct{ client kubernetes.Interface }

func (mutatingTarget) kind() string { return "MutatingWebhookConfiguration" }

func (t mutatingTarget) setCABundle(ctx context.Context, name string, bundle []byte) (bool, error) {
	api := t.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cfg, err := api.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if !fillCABundle(len(cfg.Webhooks), func(i int) *admissionregistrationv1.WebhookClientConfig { return &cfg.Webhooks[i].ClientConfig }, bundle) {
		return false, nil
	}
	_, err = api.Update(ctx, cfg, metav1.UpdateOptions{})
	return err == nil, err
}

type validatingTarget struct{ client kubernetes.Interface }

func (validatingTarget) kind() string { return "ValidatingWebhookConfiguration" }

func (t validatingTarget) setCABundle(ctx context.Context, name string, bundle []byte) (bool, error) {
	api := t.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cfg, err := api.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if !fillCABundle(len(cfg.Webhooks), func(i int) *admissionregistrationv1.WebhookClientConfig { return &cfg.Webhooks[i].ClientConfig }, bundle) {
		return false, nil
	}
	_, err = api.Update(ctx, cfg, metav1.UpdateOptions{})
	return err == nil, err
}

// fillCABundle writes bundle into the client config of each of n webhooks
// and says whether any of them had to change; both configuration kinds share
// it, since their webhook types differ but their client configs do not.
func fillCABundle(n int, clientConfig func(i int) *admissionregistrationv1.WebhookClientConfig, bundle []byte) bool {
	changed := false
	for i := range n {
		if cc := clientConfig(i); !bytes.Equal(cc.CABundle, bundle) {
			cc.CABundle = bundle
			changed = true
		}
	}
	return changed
}
