package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

const (
	testNamespace = "gpuplane-system"
	testConfig    = "gpuplane-webhook"
	testHost      = "gpuplane-webhook.gpuplane-system.svc"
)

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func webhookConfigs() []runtime.Object {
	return []runtime.Object{
		&admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: testConfig},
			Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "pods.gpuplane.io"}},
		},
		&admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: testConfig},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{
				{Name: "workloads.gpuplane.io"}, {Name: "cronjobs.gpuplane.io"},
			},
		},
	}
}

type selfSignedFixture struct {
	t      *testing.T
	client *fake.Clientset
	clock  *clocktesting.FakeClock
	ss     *SelfSigned
}

func newSelfSignedFixture(t *testing.T, opts SelfSignedOptions, objs ...runtime.Object) *selfSignedFixture {
	t.Helper()
	f := &selfSignedFixture{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(testEpoch)}
	opts.Namespace = testNamespace
	opts.Clock = f.clock
	ss, err := NewSelfSigned(f.client, opts)
	if err != nil {
		t.Fatalf("NewSelfSigned: %v", err)
	}
	f.ss = ss
	return f
}

func (f *selfSignedFixture) reconcile() {
	f.t.Helper()
	if err := f.ss.Reconcile(context.Background()); err != nil {
		f.t.Fatalf("Reconcile: %v", err)
	}
}

func (f *selfSignedFixture) secret() *corev1.Secret {
	f.t.Helper()
	s, err := f.client.CoreV1().Secrets(testNamespace).Get(context.Background(), "gpuplane-webhook-tls", metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("reading the Secret: %v", err)
	}
	return s
}

func (f *selfSignedFixture) serving() *x509.Certificate {
	f.t.Helper()
	c, err := f.ss.GetCertificate(nil)
	if err != nil {
		f.t.Fatalf("GetCertificate: %v", err)
	}
	return c.Leaf
}

// caBundles returns the caBundle of every webhook of both configurations.
func (f *selfSignedFixture) caBundles() [][]byte {
	f.t.Helper()
	ctx := context.Background()
	api := f.client.AdmissionregistrationV1()
	m, err := api.MutatingWebhookConfigurations().Get(ctx, testConfig, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := api.ValidatingWebhookConfigurations().Get(ctx, testConfig, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out [][]byte
	for _, w := range m.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	for _, w := range v.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out
}

func (f *selfSignedFixture) countActions(verb, resource string) int {
	n := 0
	for _, a := range f.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

// run starts the fixture's Run loop until the test ends, and returns a wait
// for a condition of the loop's work, failing the test after 10 s.
func (f *selfSignedFixture) run(t *testing.T) func(what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ss.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, 10*time.Second, true,
			func(context.Context) (bool, error) { return cond(), nil }); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

// verify checks that cert is trusted by bundle for host at the fixture's time.
func verify(t *testing.T, cert *x509.Certificate, bundle []byte, host string, at time.Time) error {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		t.Fatalf("caBundle holds no certificate: %q", bundle)
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: at})
	return err
}

func TestSelfSignedCreatesSecretAndCABundles(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{ExtraIPs: []net.IP{net.ParseIP("127.0.0.1")}}, webhookConfigs()...)
	if err := f.ss.Ready(); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("Ready before the first pass = %v, want ErrNoCertificate", err)
	}
	f.reconcile()
	if err := f.ss.Ready(); err != nil {
		t.Fatalf("Ready after the first pass: %v", err)
	}
	s := f.secret()
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type = %q, want %q", s.Type, corev1.SecretTypeTLS)
	}
	for _, k := range []string{SecretKeyCA, SecretKeyCAKey, SecretKeyTLSCert, SecretKeyTLSKey} {
		if len(s.Data[k]) == 0 {
			t.Errorf("Secret lacks %s", k)
		}
	}
	bundles := f.caBundles()
	if len(bundles) != 3 {
		t.Fatalf("got %d webhooks, want 3", len(bundles))
	}
	for i, b := range bundles {
		if string(b) != string(s.Data[SecretKeyCA]) {
			t.Errorf("webhook %d caBundle differs from the Secret's ca.crt", i)
		}
	}
	cert := f.serving()
	for _, host := range []string{testHost, "gpuplane-webhook.gpuplane-system", "gpuplane-webhook", "127.0.0.1"} {
		if err := verify(t, cert, bundles[0], host, f.clock.Now()); err != nil {
			t.Errorf("serving certificate not valid for %s: %v", host, err)
		}
	}
	if got, want := cert.NotAfter.Sub(f.clock.Now()), 90*24*time.Hour; got != want {
		t.Errorf("serving certificate valid for %v from now, want %v", got, want)
	}
}

func TestSelfSignedSteadyStateWritesNothing(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{}, webhookConfigs()...)
	f.reconcile()
	first := f.serving()
	creates, updates := f.countActions("create", "secrets"), f.countActions("update", "secrets")
	cfgUpdates := f.countActions("update", "mutatingwebhookconfigurations") + f.countActions("update", "validatingwebhookconfigurations")

	f.clock.Step(24 * time.Hour)
	f.reconcile()
	if got := f.countActions("create", "secrets") + f.countActions("update", "secrets"); got != creates+updates {
		t.Errorf("Secret written %d more times in a steady state", got-creates-updates)
	}
	if got := f.countActions("update", "mutatingwebhookconfigurations") + f.countActions("update", "validatingwebhookconfigurations"); got != cfgUpdates {
		t.Errorf("webhook configurations written %d more times in a steady state", got-cfgUpdates)
	}
	if !f.serving().Equal(first) {
		t.Error("serving certificate changed in a steady state")
	}
}

func TestSelfSignedRenewal(t *testing.T) {
	tests := []struct {
		name          string
		after         time.Duration
		wantNewCA     bool
		wantBundleLen int
	}{
		{name: "serving certificate before two thirds of its life", after: 59 * 24 * time.Hour, wantBundleLen: 1},
		{name: "serving certificate after two thirds of its life", after: 61 * 24 * time.Hour, wantBundleLen: 1},
		{name: "CA after two thirds of its life keeps the old CA in the bundle", after: 244 * 24 * time.Hour, wantNewCA: true, wantBundleLen: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSelfSignedFixture(t, SelfSignedOptions{}, webhookConfigs()...)
			f.reconcile()
			oldServing := f.serving()
			oldCA := string(f.secret().Data[SecretKeyCAKey])

			f.clock.Step(tt.after)
			f.reconcile()
			newServing := f.serving()
			renewedServing := !newServing.Equal(oldServing)
			wantServing := tt.after > 60*24*time.Hour
			if renewedServing != wantServing {
				t.Errorf("serving certificate renewed = %v, want %v", renewedServing, wantServing)
			}
			if newCA := string(f.secret().Data[SecretKeyCAKey]) != oldCA; newCA != tt.wantNewCA {
				t.Errorf("CA renewed = %v, want %v", newCA, tt.wantNewCA)
			}
			bundle := f.caBundles()[0]
			certs, err := parseCerts(bundle)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tt.wantBundleLen {
				t.Errorf("caBundle holds %d CAs, want %d", len(certs), tt.wantBundleLen)
			}
			now := f.clock.Now()
			if err := verify(t, newServing, bundle, testHost, now); err != nil {
				t.Errorf("new serving certificate not trusted by the caBundle: %v", err)
			}
			// A replica that has not picked up the renewal yet must still be trusted.
			if err := verify(t, oldServing, bundle, testHost, now); err != nil && now.Before(oldServing.NotAfter) {
				t.Errorf("previous serving certificate no longer trusted while still valid: %v", err)
			}
		})
	}
}

func TestSelfSignedReplacesUnusableSecret(t *testing.T) {
	tests := []struct {
		name string
		data map[string][]byte
	}{
		{name: "empty", data: map[string][]byte{}},
		{name: "garbage", data: map[string][]byte{
			SecretKeyCA: []byte("not pem"), SecretKeyCAKey: []byte("x"), SecretKeyTLSCert: []byte("y"), SecretKeyTLSKey: []byte("z"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "gpuplane-webhook-tls", Namespace: testNamespace},
				Data:       tt.data,
			}
			f := newSelfSignedFixture(t, SelfSignedOptions{}, append(webhookConfigs(), secret)...)
			f.reconcile()
			if err := verify(t, f.serving(), f.caBundles()[0], testHost, f.clock.Now()); err != nil {
				t.Errorf("serving certificate not trusted after replacing the Secret: %v", err)
			}
			if f.countActions("update", "secrets") != 1 {
				t.Errorf("Secret updated %d times, want 1", f.countActions("update", "secrets"))
			}
		})
	}
}

func TestSelfSignedReissuesForNewHosts(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{}, webhookConfigs()...)
	f.reconcile()
	caKey := string(f.secret().Data[SecretKeyCAKey])

	// A restart with an extra name: same Secret, new options.
	ss, err := NewSelfSigned(f.client, SelfSignedOptions{
		Namespace: testNamespace, Clock: f.clock, ExtraDNSNames: []string{"webhook.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	cert, _ := ss.GetCertificate(nil)
	if err := verify(t, cert.Leaf, f.caBundles()[0], "webhook.example", f.clock.Now()); err != nil {
		t.Errorf("reissued certificate not valid for the new name: %v", err)
	}
	if string(f.secret().Data[SecretKeyCAKey]) != caKey {
		t.Error("CA replaced although it was fine")
	}
}

func TestSelfSignedWithoutWebhookConfigurations(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{})
	f.reconcile() // the configurations may be applied after the webhook starts
	if f.serving() == nil {
		t.Fatal("no serving certificate")
	}
}

// TestSelfSignedRunFindsLateConfigurations starts Run before the webhook
// configurations exist, as an install that applies them last does: once they
// appear, their caBundle is written after the retry interval, not the resync
// interval, so that the API server can call the webhook.
func TestSelfSignedRunFindsLateConfigurations(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{})
	waitFor := f.run(t)
	waitFor("the first pass and the loop's timer", func() bool { return f.ss.Ready() == nil && f.clock.HasWaiters() })
	for _, o := range webhookConfigs() {
		if err := f.client.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Step(f.ss.opts.RetryInterval)
	ca := string(f.secret().Data[SecretKeyCA])
	waitFor("the caBundles", func() bool {
		for _, b := range f.caBundles() {
			if string(b) != ca {
				return false
			}
		}
		return true
	})
}

func TestSelfSignedAdoptsAnotherReplicasSecret(t *testing.T) {
	// The other replica's Secret, made with the same code.
	other := newSelfSignedFixture(t, SelfSignedOptions{})
	other.reconcile()
	theirs := other.secret()

	f := newSelfSignedFixture(t, SelfSignedOptions{}, webhookConfigs()...)
	raced := false
	f.client.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if raced {
			return false, nil, nil
		}
		raced = true
		if err := f.client.Tracker().Add(theirs.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, theirs.Name)
	})
	f.reconcile()
	leaf, err := parseCerts(theirs.Data[SecretKeyTLSCert])
	if err != nil {
		t.Fatal(err)
	}
	if !f.serving().Equal(leaf[0]) {
		t.Error("serving its own certificate instead of the one the other replica stored")
	}
	if string(f.caBundles()[0]) != string(theirs.Data[SecretKeyCA]) {
		t.Error("caBundle is not the stored CA")
	}
}

func TestSelfSignedRetriesConflictingConfigUpdate(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{}, webhookConfigs()...)
	conflicts := 0
	f.client.PrependReactor("update", "mutatingwebhookconfigurations", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			return false, nil, nil
		}
		conflicts++
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "mutatingwebhookconfigurations"}, testConfig, errors.New("changed"))
	})
	f.reconcile()
	if len(f.caBundles()[0]) == 0 {
		t.Error("caBundle not written after a conflict")
	}
}

func TestSelfSignedRunRenewsOnTime(t *testing.T) {
	f := newSelfSignedFixture(t, SelfSignedOptions{}, webhookConfigs()...)
	waitFor := f.run(t)
	waitFor("the first certificate and the loop's timer", func() bool { return f.ss.Ready() == nil && f.clock.HasWaiters() })
	first := f.serving()

	// Each resync passes a minute; jump straight past the renewal point.
	f.clock.Step(61 * 24 * time.Hour)
	waitFor("the renewed certificate", func() bool {
		c, _ := f.ss.GetCertificate(nil)
		return c != nil && !c.Leaf.Equal(first)
	})
}
