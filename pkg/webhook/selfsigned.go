package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Keys of the Secret the self-signed mode keeps its certificates in. tls.crt and tls.key
// are the usual names, so the same Secret can be mounted by a webhook started with
// --cert-dir; ca.crt may hold several CAs while one is being replaced.
const (
	SecretKeyCA      = "ca.crt"
	SecretKeyCAKey   = "ca.key"
	SecretKeyTLSCert = corev1.TLSCertKey
	SecretKeyTLSKey  = corev1.TLSPrivateKeyKey
)

// writeAttempts bounds how often one reconcile re-reads an object another replica
// changed under it before leaving the rest to the next pass.
const writeAttempts = 3

// ErrNoCertificate is returned while the self-signed mode has no serving certificate yet.
var ErrNoCertificate = errors.New("no serving certificate yet")

// SelfSignedOptions say where the self-signed mode keeps its certificates and which
// webhook configurations it tells about its CA.
type SelfSignedOptions struct {
	// Namespace holds the Secret and the Service. Required.
	Namespace string
	// SecretName is the Secret holding the CA and the serving certificate.
	// Default: "gpuplane-webhook-tls".
	SecretName string
	// ServiceName is the Service the API server reaches the webhook through; the serving
	// certificate names <service>, <service>.<namespace> and <service>.<namespace>.svc.
	// Default: "gpuplane-webhook".
	ServiceName string
	// WebhookConfigNames are the names of the MutatingWebhookConfiguration and the
	// ValidatingWebhookConfiguration whose caBundle is kept equal to the CA. A name that
	// exists as only one kind, or not yet at all, is fine: it is looked for again on every
	// resync. Default: ["gpuplane-webhook"].
	WebhookConfigNames []string
	// ExtraDNSNames and ExtraIPs are added to the serving certificate, for a webhook the
	// API server reaches by URL (a local run on 127.0.0.1). Default: none.
	ExtraDNSNames []string
	ExtraIPs      []net.IP
	// CAValidity is how long a new CA is valid; it is replaced after two thirds of that.
	// Default: one year.
	CAValidity time.Duration
	// CertValidity is how long a new serving certificate is valid, never longer than its
	// CA; it is replaced after two thirds of that. Default: 90 days.
	CertValidity time.Duration
	// ResyncInterval is how often the Secret and the caBundles are checked even when
	// nothing is due, so that another replica's renewal, or a webhook configuration
	// applied after the webhook started, is picked up. Default: 1 minute.
	ResyncInterval time.Duration
	// RetryInterval is the wait after a failed pass. Default: 5 seconds.
	RetryInterval time.Duration
	// Clock tells the time and waits. Default: the real clock.
	Clock clock.WithTicker
}

// Default returns the options with every empty field set to its default.
func (o SelfSignedOptions) Default() SelfSignedOptions {
	if o.SecretName == "" {
		o.SecretName = "gpuplane-webhook-tls"
	}
	if o.ServiceName == "" {
		o.ServiceName = "gpuplane-webhook"
	}
	if len(o.WebhookConfigNames) == 0 {
		o.WebhookConfigNames = []string{"gpuplane-webhook"}
	}
	if o.CAValidity <= 0 {
		o.CAValidity = 365 * 24 * time.Hour
	}
	if o.CertValidity <= 0 {
		o.CertValidity = 90 * 24 * time.Hour
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = time.Minute
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 5 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// SelfSigned runs the webhook's own small PKI for clusters without cert-manager: a CA
// and a serving certificate kept in a Secret (so every replica serves the same one),
// the CA written into the caBundle of the webhook configurations, and both renewed
// before they expire. While a CA is replaced the old one stays in the bundle until it
// expires, so replicas still serving a certificate it signed keep being trusted.
type SelfSigned struct {
	client kubernetes.Interface
	opts   SelfSignedOptions
	hosts  servingHosts

	mu      sync.Mutex
	serving *tls.Certificate
	renewAt time.Time
	// missing is set when the last pass found a webhook configuration absent.
	missing bool
}

// NewSelfSigned checks the options; Run does the work.
func NewSelfSigned(client kubernetes.Interface, opts SelfSignedOptions) (*SelfSigned, error) {
	opts = opts.Default()
	if opts.Namespace == "" {
		return nil, errors.New("self-signed certificates need the namespace of their Secret and Service")
	}
	svc := opts.ServiceName
	hosts := servingHosts{
		dnsNames: []string{svc + "." + opts.Namespace + ".svc", svc + "." + opts.Namespace, svc},
	}
	for _, n := range opts.ExtraDNSNames {
		if !slices.Contains(hosts.dnsNames, n) {
			hosts.dnsNames = append(hosts.dnsNames, n)
		}
	}
	for _, ip := range opts.ExtraIPs {
		if !slices.ContainsFunc(hosts.ips, ip.Equal) {
			hosts.ips = append(hosts.ips, ip)
		}
	}
	return &SelfSigned{client: client, opts: opts, hosts: hosts}, nil
}

// GetCertificate serves the current certificate; it fits tls.Config.GetCertificate.
func (s *SelfSigned) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving == nil {
		return nil, ErrNoCertificate
	}
	return s.serving, nil
}

// Ready fails until the first serving certificate is loaded.
func (s *SelfSigned) Ready() error {
	_, err := s.GetCertificate(nil)
	return err
}

// Run reconciles at once and then whenever a certificate is due or the resync interval
// has passed, until ctx ends. Failures are logged and retried; Run only returns when
// ctx ends.
func (s *SelfSigned) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("self-signed")
	for {
		wait := s.opts.ResyncInterval
		if err := s.Reconcile(ctx); err != nil {
			logger.Error(err, "Keeping the webhook certificates failed; retrying", "retryIn", s.opts.RetryInterval)
			wait = s.opts.RetryInterval
		} else if due := s.nextRenewal().Sub(s.opts.Clock.Now()); due < wait {
			wait = max(due, 0)
		}
		if s.configurationMissing() {
			wait = min(wait, s.opts.RetryInterval)
		}
		t := s.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

func (s *SelfSigned) nextRenewal() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renewAt
}

// Reconcile makes one pass: bring the Secret up to date (creating or renewing what is
// missing, invalid or due), write its CA bundle into the webhook configurations, and
// serve its certificate.
func (s *SelfSigned) Reconcile(ctx context.Context) error {
	st, err := s.ensureSecret(ctx)
	if err != nil {
		return err
	}
	if err := s.ensureCABundles(ctx, st.bundlePEM); err != nil {
		return err
	}
	cert, err := st.serving.tlsCertificate()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving == nil || !bytes.Equal(s.serving.Leaf.Raw, cert.Leaf.Raw) {
		klog.FromContext(ctx).Info("Serving a webhook certificate", "notAfter", cert.Leaf.NotAfter,
			"dnsNames", cert.Leaf.DNSNames, "ips", cert.Leaf.IPAddresses)
	}
	s.serving = cert
	s.renewAt = renewAt(st.serving.cert)
	if r := renewAt(st.ca.cert); r.Before(s.renewAt) {
		s.renewAt = r
	}
	return nil
}

// pki is what the Secret holds, parsed.
type pki struct {
	ca        keyPair
	bundle    []*x509.Certificate // the current CA first
	bundlePEM []byte
	serving   keyPair
}

func (s *SelfSigned) ensureSecret(ctx context.Context) (pki, error) {
	secrets := s.client.CoreV1().Secrets(s.opts.Namespace)
	var lastErr error
	for range writeAttempts {
		secret, err := secrets.Get(ctx, s.opts.SecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			secret = nil
		} else if err != nil {
			return pki{}, fmt.Errorf("reading Secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
		}
		st, changed, err := s.renew(ctx, secret)
		if err != nil {
			return pki{}, err
		}
		if !changed {
			return st, nil
		}
		if err = s.writeSecret(ctx, secret, st); err == nil {
			return st, nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return pki{}, err
		}
		// Another replica wrote first: adopt what it wrote.
		lastErr = err
	}
	return pki{}, fmt.Errorf("Secret %s/%s kept changing under us: %w", s.opts.Namespace, s.opts.SecretName, lastErr)
}

// renew reads the Secret (nil when absent) and replaces whatever is missing, unusable
// or due. changed says whether the Secret must be written.
func (s *SelfSigned) renew(ctx context.Context, secret *corev1.Secret) (pki, bool, error) {
	logger := klog.FromContext(ctx)
	now := s.opts.Clock.Now()
	var data map[string][]byte
	if secret != nil {
		data = secret.Data
	}
	var st pki
	changed := false

	ca, caErr := parseKeyPair(data[SecretKeyCA], data[SecretKeyCAKey])
	oldBundle, _ := parseCerts(data[SecretKeyCA])
	switch {
	case caErr == nil && now.Before(renewAt(ca.cert)) && ca.cert.IsCA:
		st.ca = ca
	default:
		reason := "due for renewal"
		if caErr != nil {
			reason = caErr.Error()
		}
		logger.Info("Creating a new webhook CA", "secret", klog.KRef(s.opts.Namespace, s.opts.SecretName), "reason", reason)
		fresh, err := newCA("gpuplane-webhook-ca", now, s.opts.CAValidity)
		if err != nil {
			return pki{}, false, err
		}
		st.ca = fresh
		changed = true
	}

	// The bundle: the current CA, then every other CA of the old bundle still valid.
	st.bundle = []*x509.Certificate{st.ca.cert}
	for _, c := range oldBundle {
		if !c.Equal(st.ca.cert) && now.Before(c.NotAfter) {
			st.bundle = append(st.bundle, c)
		}
	}
	var pemBuf bytes.Buffer
	for _, c := range st.bundle {
		_ = pem.Encode(&pemBuf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	st.bundlePEM = pemBuf.Bytes()
	if !bytes.Equal(st.bundlePEM, data[SecretKeyCA]) {
		changed = true
	}

	serving, err := parseKeyPair(data[SecretKeyTLSCert], data[SecretKeyTLSKey])
	if err == nil && now.Before(renewAt(serving.cert)) &&
		signedBy(serving.cert, st.ca.cert) && s.hosts.coveredBy(serving.cert) {
		st.serving = serving
		return st, changed, nil
	}
	logger.Info("Issuing a new webhook serving certificate", "secret", klog.KRef(s.opts.Namespace, s.opts.SecretName))
	if st.serving, err = newServingCert(st.ca, s.hosts, now, s.opts.CertValidity); err != nil {
		return pki{}, false, err
	}
	return st, true, nil
}

func (s *SelfSigned) writeSecret(ctx context.Context, old *corev1.Secret, st pki) error {
	data := map[string][]byte{
		SecretKeyCA:      st.bundlePEM,
		SecretKeyCAKey:   st.ca.keyPEM,
		SecretKeyTLSCert: st.serving.certPEM,
		SecretKeyTLSKey:  st.serving.keyPEM,
	}
	secrets := s.client.CoreV1().Secrets(s.opts.Namespace)
	if old == nil {
		_, err := secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:      s.opts.SecretName,
				Namespace: s.opts.Namespace,
				Labels:    map[string]string{"app.kubernetes.io/managed-by": "gpuplane-webhook"},
			},
			Type: corev1.SecretTypeTLS,
			Data: data,
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating Secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
		}
		return nil
	}
	updated := old.DeepCopy()
	updated.Data = data
	if _, err := secrets.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating Secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
	}
	return nil
}

// ensureCABundles writes bundle into every webhook of the named configurations.
//
// A configuration that is not there yet is not an error: an install applies the
// webhook's Deployment and its configurations together, and kubectl and kustomize
// create the configurations last. Run then comes back after RetryInterval, not the
// resync interval, so that the API server can call the webhook soon after the
// configuration appears.
func (s *SelfSigned) ensureCABundles(ctx context.Context, bundle []byte) error {
	logger := klog.FromContext(ctx)
	var errs []error
	missing := false
	for _, name := range s.opts.WebhookConfigNames {
		for _, kind := range caBundleTargets(s.client) {
			found, err := ensureCABundle(ctx, kind, name, bundle)
			if err != nil {
				errs = append(errs, err)
			} else if !found {
				missing = true
				logger.V(2).Info("Webhook configuration not there (yet)", "kind", kind.kind(), "name", name)
			}
		}
	}
	s.mu.Lock()
	s.missing = missing
	s.mu.Unlock()
	return errors.Join(errs...)
}

// configurationMissing tells whether the last pass found a configuration absent.
func (s *SelfSigned) configurationMissing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.missing
}

func ensureCABundle(ctx context.Context, target caBundleTarget, name string, bundle []byte) (bool, error) {
	var lastErr error
	for range writeAttempts {
		changed, err := target.setCABundle(ctx, name, bundle)
		switch {
		case apierrors.IsNotFound(err):
			return false, nil
		case apierrors.IsConflict(err):
			lastErr = err
			continue
		case err != nil:
			return true, fmt.Errorf("writing the caBundle of %s %q: %w", target.kind(), name, err)
		}
		if changed {
			klog.FromContext(ctx).Info("Wrote the webhook CA bundle", "kind", target.kind(), "name", name)
		}
		return true, nil
	}
	return true, fmt.Errorf("%s %q kept changing under us: %w", target.kind(), name, lastErr)
}
