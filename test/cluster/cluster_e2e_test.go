//go:build e2e

package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// eventually bounds the waits for state the API server applies asynchronously (RBAC
// and webhook configurations reach its caches through informers).
const eventually = 30 * time.Second

func startForTest(t *testing.T, opts Options) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), opts)
	if errors.Is(err, ErrBinariesMissing) && os.Getenv(EnvSkipMissing) == "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane logs:\n%s", c.LogTails())
		}
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("control plane ready in %s", c.StartupDuration().Round(time.Millisecond))
	return c
}

// poll calls f until it returns true or eventually passes.
func poll(t *testing.T, what string, f func() (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, eventually, true, func(context.Context) (bool, error) {
		ok, err := f()
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s (last error: %v)", what, eventually, last)
	}
}

func TestClusterServesAndStopsClean(t *testing.T) {
	c := startForTest(t, Options{})
	ctx := t.Context()

	t.Run("version is stamped", func(t *testing.T) {
		v, err := c.Client().Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^v1\.\d+\.\d+$`).MatchString(v.GitVersion) {
			t.Errorf("server version %q, want a release version such as v1.37.2", v.GitVersion)
		}
	})

	t.Run("kubeconfig works", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Errorf("reading namespace default through the kubeconfig: %v", err)
		}
	})

	t.Run("RBAC applies to users and service accounts", func(t *testing.T) {
		testRBAC(ctx, t, c)
	})

	t.Run("webhook on 127.0.0.1 is called", func(t *testing.T) {
		testWebhook(ctx, t, c)
	})

	t.Run("scheduler runs a given profile", func(t *testing.T) {
		testSchedulerProfile(ctx, t, c)
	})

	// Stop, then check that nothing is left.
	c.mu.Lock()
	pids := []int{c.etcd.cmd.Process.Pid, c.apiServer.cmd.Process.Pid}
	for _, s := range c.schedulers {
		pids = append(pids, s.proc.cmd.Process.Pid)
	}
	c.mu.Unlock()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		// Each program led its own process group; an empty group cannot be signalled.
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still there after Stop (stat: %v)", c.Dir(), err)
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(c.Host(), "https://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("API server address %s still accepts connections after Stop", c.Host())
	}
}

func testRBAC(ctx context.Context, t *testing.T, c *Cluster) {
	const ns = "rbac-test"
	admin := c.Client()
	if _, err := admin.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	userCfg, err := c.ConfigForUser("alice", "developers")
	if err != nil {
		t.Fatal(err)
	}
	user := kubernetes.NewForConfigOrDie(userCfg)
	if _, err := user.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("user alice listing nodes: err = %v, want Forbidden", err)
	}

	saCfg, err := c.ServiceAccountConfig(ctx, ns, "reader")
	if err != nil {
		t.Fatal(err)
	}
	sa := kubernetes.NewForConfigOrDie(saCfg)
	review, err := sa.AuthenticationV1().SelfSubjectReviews().Create(ctx,
		&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + ns + ":reader"; review.Status.UserInfo.Username != want {
		t.Errorf("service account authenticated as %q, want %q", review.Status.UserInfo.Username, want)
	}
	if _, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("service account listing pods before a grant: err = %v, want Forbidden", err)
	}

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "reader", Namespace: ns}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "service account may list pods after the grant", func() (bool, error) {
		_, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
}

// testWebhook registers a validating webhook served by this test on 127.0.0.1 with a
// certificate from the cluster's CA, and checks that the API server asks it.
func testWebhook(ctx context.Context, t *testing.T, c *Cluster) {
	const ns, denial = "webhook-test", "refused by the test webhook"
	cert, err := c.IssueServingCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var review admissionv1.AdmissionReview
			if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
				http.Error(w, "bad admission review", http.StatusBadRequest)
				return
			}
			review.Response = &admissionv1.AdmissionResponse{
				UID:     review.Request.UID,
				Allowed: !strings.HasPrefix(review.Request.Name, "deny-"),
				Result:  &metav1.Status{Message: denial},
			}
			review.Request = nil
			_ = json.NewEncoder(w).Encode(&review)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = srv.Serve(tlsLn) }()
	t.Cleanup(func() { srv.Close() })

	admin := c.Client()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"webhook-test": "true"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String() + "/validate"
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "test-webhook"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "configmaps.test.gpuplane.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: c.CABundle()},
			Rules:                   []admissionregistrationv1.RuleWithOperations{configMapCreate()},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"webhook-test": "true"}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	i := 0
	poll(t, "the webhook refuses a ConfigMap named deny-*", func() (bool, error) {
		i++
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("deny-%d", i)}}
		_, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
		return err != nil && strings.Contains(err.Error(), denial), err
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "allowed"}}
	if _, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Errorf("the webhook refused an allowed ConfigMap: %v", err)
	}
}

func configMapCreate() admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"},
		},
	}
}

// testSchedulerProfile starts a scheduler whose only profile has its own name and checks
// that it binds a pod asking for that scheduler.
func testSchedulerProfile(ctx context.Context, t *testing.T, c *Cluster) {
	const ns = "scheduler-test"
	if _, err := c.AddGPUNode(ctx, NodeSpec{Name: "node-a", Capacity: map[string]string{"nvidia.com/gpu": "4"}}); err != nil {
		t.Fatal(err)
	}
	config := []byte("profiles:\n- schedulerName: gpuplane-test\n")
	if _, err := c.StartScheduler(ctx, SchedulerOptions{Config: config}); err != nil {
		t.Fatal(err)
	}
	admin := c.Client()
	if _, err := admin.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			SchedulerName: "gpuplane-test",
			Containers:    []corev1.Container{{Name: "main", Image: "pause"}},
		},
	}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod is bound by the gpuplane-test profile", func() (bool, error) {
		p, err := admin.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
		return err == nil && p.Spec.NodeName == "node-a", err
	})
}

func TestStartFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(t.Context(), Options{TempDir: dir, APIServerArgs: []string{"--no-such-flag"}})
	if errors.Is(err, ErrBinariesMissing) && os.Getenv(EnvSkipMissing) == "1" {
		t.Skip(err)
	}
	if err == nil {
		t.Fatal("Start with an unknown API server flag succeeded")
	}
	if !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error does not show the API server's complaint from its log: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("failed start left %d entries in %s, want none", len(entries), dir)
	}
}

// BenchmarkStart measures a cold start of the control plane (etcd and the API server,
// until /readyz is ok); Stop is not timed. Run with -benchtime 5x: each start takes
// seconds.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		c, err := Start(b.Context(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
