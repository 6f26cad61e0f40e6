//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/cmd/webhook/app"
	"github.com/gpuplane/gpuplane/internal/wiretest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// The webhook configurations under test, as shipped.
const (
	whMutatingFile   = "deploy/base/webhook/mutating.yaml"
	whValidatingFile = "deploy/base/webhook/validating.yaml"
	whNamespace      = "gpuplane-system"
	whReadyLimit     = 60 * time.Second
)

// TestWebhook registers the webhook, run in this process in its self-signed mode,
// with a real API server through the configurations in deploy/, and checks what the
// API server stores for each kind of request, what it refuses, and what happens while
// the webhook is down.
func TestWebhook(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	root := repoRoot(t)

	// The webhook keeps its Secret in its own namespace; the configurations exclude it.
	createNamespace(ctx, t, client, whNamespace)
	ns := createNamespace(ctx, t, client, "e2e-webhook")

	whRegister(ctx, t, client, root, whNowhere(t))
	url, stop := whStart(t, c.KubeconfigPath())
	whPoint(ctx, t, client, url)
	whWaitServing(ctx, t, client, ns)

	t.Run("self-signed", func(t *testing.T) { whCheckCABundles(ctx, t, client) })
	t.Run("pods", func(t *testing.T) { whCheckPods(ctx, t, client, ns) })
	t.Run("refusals", func(t *testing.T) { whCheckRefusals(ctx, t, client, ns) })
	t.Run("workloads", func(t *testing.T) { whCheckWorkloads(ctx, t, client, ns) })
	t.Run("webhook-down", func(t *testing.T) {
		stop()
		whCheckDown(ctx, t, client, ns)
	})
}

// whNowhere is a URL where nothing answers, for configurations registered before the
// webhook is started: it must find them to write its caBundle into them, and learns
// its port only once it listens (whPoint then points them at it).
func whNowhere(t *testing.T) string {
	t.Helper()
	return "https://" + wiretest.ClosedAddr(t)
}

// whPoint points every webhook of both configurations at url, keeping each path.
func whPoint(ctx context.Context, t *testing.T, client kubernetes.Interface, url string) {
	t.Helper()
	repoint := func(cc *admissionregistrationv1.WebhookClientConfig) {
		u, err := neturl.Parse(*cc.URL)
		if err != nil {
			t.Fatal(err)
		}
		to := url + u.Path
		cc.URL = &to
	}
	// The webhook writes its caBundle into the same objects meanwhile; repointing is
	// idempotent, so a conflict on either retries both.
	mutating := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	validating := client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		m, err := mutating.Get(ctx, "gpuplane-webhook", metav1.GetOptions{})
		if err != nil {
			return err
		}
		v, err := validating.Get(ctx, "gpuplane-webhook", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range m.Webhooks {
			repoint(&m.Webhooks[i].ClientConfig)
		}
		for i := range v.Webhooks {
			repoint(&v.Webhooks[i].ClientConfig)
		}
		if _, err := mutating.Update(ctx, m, metav1.UpdateOptions{}); err != nil {
			return err
		}
		_, err = validating.Update(ctx, v, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("pointing the webhook configurations at %s: %v", url, err)
	}
}

// whRegister creates the shipped configurations, the service reference replaced by
// the URL of the local webhook; the caBundle is left for the webhook to fill in.
func whRegister(ctx context.Context, t *testing.T, client kubernetes.Interface, root, url string) {
	t.Helper()
	var m admissionregistrationv1.MutatingWebhookConfiguration
	whLoad(t, filepath.Join(root, whMutatingFile), &m)
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig = whURLConfig(t, m.Webhooks[i].ClientConfig, url)
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &m, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the MutatingWebhookConfiguration of %s: %v", whMutatingFile, err)
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	whLoad(t, filepath.Join(root, whValidatingFile), &v)
	for i := range v.Webhooks {
		v.Webhooks[i].ClientConfig = whURLConfig(t, v.Webhooks[i].ClientConfig, url)
	}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &v, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the ValidatingWebhookConfiguration of %s: %v", whValidatingFile, err)
	}
}

func whLoad(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
}

// whURLConfig points a service-based client configuration at url, keeping its path.
func whURLConfig(t *testing.T, cc admissionregistrationv1.WebhookClientConfig, url string) admissionregistrationv1.WebhookClientConfig {
	t.Helper()
	if cc.Service == nil || cc.Service.Path == nil {
		t.Fatalf("webhook client configuration %+v has no service path", cc)
	}
	u := url + *cc.Service.Path
	return admissionregistrationv1.WebhookClientConfig{URL: &u}
}

// whStart runs the webhook program's server in this process on a port of 127.0.0.1
// the kernel picks, with the API client of kubeconfig, and returns its URL and the
// function that stops it and waits until it has.
func whStart(t *testing.T, kubeconfig string) (string, func()) {
	t.Helper()
	return whStartScheduler(t, kubeconfig, "")
}

// whStartScheduler is whStart with the webhook writing scheduler (its
// --scheduler-name) into GPU pods; "" writes none.
func whStartScheduler(t *testing.T, kubeconfig, scheduler string) (string, func()) {
	t.Helper()
	return whStartWith(t, kubeconfig, func(c *app.Config) { c.SchedulerName = scheduler })
}

// whStartWith is whStart with the configuration changed by edit.
func whStartWith(t *testing.T, kubeconfig string, edit func(*app.Config)) (string, func()) {
	t.Helper()
	cfg := app.Config{
		PlacementResource:      api.ResourcePlacement,
		Host:                   "127.0.0.1",
		Port:                   0,
		MetricsBindAddress:     "0",
		HealthProbeBindAddress: "0",
		SelfSigned:             true,
		Namespace:              whNamespace,
		SecretName:             "gpuplane-webhook-tls",
		ServiceName:            "gpuplane-webhook",
		WebhookConfigNames:     []string{"gpuplane-webhook"},
		CertIPs:                []net.IP{net.ParseIP("127.0.0.1")},
		Kubeconfig:             kubeconfig,
	}
	edit(&cfg)
	bound, logger := wiretest.NewBoundLog(ktesting.NewLogger(t, ktesting.DefaultConfig).WithName("webhook"))
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- app.Serve(ctx, cfg)
		close(exited)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("webhook server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("webhook server did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return "https://" + bound.Addr(t, "Serving the admission webhook", exited, whReadyLimit), stop
}

// whWaitServing waits until the API server calls the webhook successfully: the
// webhook has written its CA into the configurations and serves with its certificate.
func whWaitServing(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	probe := whPod("probe", "1", nil)
	var last error
	if err := wait.PollUntilContextTimeout(ctx, pollInterval, whReadyLimit, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if _, ok := err.(apierrors.APIStatus); ok || err == nil {
			// The API server's answer, not the client's own deadline.
			last = err
		}
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the API server could not call the webhook within %s (%v): %v", whReadyLimit, err, last)
	}
}

// whCheckCABundles checks that every webhook of both configurations carries the CA
// of the webhook's Secret.
func whCheckCABundles(ctx context.Context, t *testing.T, client kubernetes.Interface) {
	secret, err := client.CoreV1().Secrets(whNamespace).Get(ctx, "gpuplane-webhook-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the webhook's Secret: %v", err)
	}
	ca := string(secret.Data["ca.crt"])
	if !strings.Contains(ca, "BEGIN CERTIFICATE") {
		t.Fatalf("ca.crt of the Secret holds no certificate: %q", ca)
	}
	m, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "gpuplane-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "gpuplane-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bundles []string
	for _, w := range m.Webhooks {
		bundles = append(bundles, w.Name+"="+string(w.ClientConfig.CABundle))
	}
	for _, w := range v.Webhooks {
		bundles = append(bundles, w.Name+"="+string(w.ClientConfig.CABundle))
	}
	if len(bundles) != 3 {
		t.Errorf("got webhooks %d, want 3 (pods, workloads, cronjobs)", len(bundles))
	}
	for _, b := range bundles {
		name, bundle, _ := strings.Cut(b, "=")
		if bundle != ca {
			t.Errorf("caBundle of %s is not the Secret's CA", name)
		}
	}
}

// whPod is a pod with one container "main" and the given annotations, gpu first.
func whPod(name, gpu string, annotations map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "pause"}}},
	}
	if gpu != "" {
		p.Annotations[api.AnnotationGPU] = gpu
	}
	for k, v := range annotations {
		p.Annotations[k] = v
	}
	return p
}

func whIn(key string, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}
}

func whList(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

func whCheckPods(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	gpuTrue, vgpuTrue := whIn("gpu", "true"), whIn("vgpu", "true")
	tolerateGPU := corev1.Toleration{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	twoTerms := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{whIn("zone", "a")}},
				{MatchExpressions: []corev1.NodeSelectorRequirement{whIn("zone", "b")}},
			}},
		}}
	}
	tests := []struct {
		name        string
		gpu         string
		annotations map[string]string
		edit        func(*corev1.Pod)
		applied     string
		resources   corev1.ResourceList
		terms       [][]corev1.NodeSelectorRequirement
		preferred   []corev1.PreferredSchedulingTerm
		tolerate    bool
		env         []corev1.EnvVar
	}{
		{
			name: "one-t4", gpu: "1(T4)", applied: "1(T4)",
			resources: whList("nvidia.com/gpu", "1"),
			terms:     [][]corev1.NodeSelectorRequirement{{gpuTrue, whIn("gpu-type", "T4")}}, tolerate: true,
		},
		{
			name: "two-v100", gpu: "2(V100)", applied: "2(V100)",
			resources: whList("nvidia.com/gpu", "2"),
			terms:     [][]corev1.NodeSelectorRequirement{{gpuTrue, whIn("gpu-type", "V100")}}, tolerate: true,
		},
		{
			name: "v100-or-a100", gpu: "2(V100|A100)", applied: "2(V100|A100)",
			resources: whList("nvidia.com/gpu", "2"),
			terms:     [][]corev1.NodeSelectorRequirement{{gpuTrue, whIn("gpu-type", "V100", "A100")}},
			preferred: []corev1.PreferredSchedulingTerm{
				{Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{whIn("gpu-type", "V100")}}},
				{Weight: 50, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{whIn("gpu-type", "A100")}}},
			},
			tolerate: true,
		},
		{
			name: "half-t4", gpu: "0.5(T4)", applied: "0.5(T4)",
			resources: whList("tencent.com/vcuda-core", "50", "tencent.com/vcuda-memory", "32"),
			terms:     [][]corev1.NodeSelectorRequirement{{vgpuTrue, whIn("gpu-type", "T4")}}, tolerate: true,
		},
		{
			name: "one-vgpu", gpu: "1(VGPU)", applied: "1(VGPU)",
			resources: whList("tencent.com/vcuda-core", "100"),
			terms:     [][]corev1.NodeSelectorRequirement{{vgpuTrue}}, tolerate: true,
		},
		{
			// As shipped (--placement-resource): one gpuplane.io/placement brings the pod
			// to the extender's policy.
			name: "no-gpu", gpu: "0", applied: "0",
			resources: whList(api.ResourcePlacement, "1"),
			env:       []corev1.EnvVar{{Name: "NVIDIA_VISIBLE_DEVICES", Value: "none"}},
		},
		{
			name: "role-train", gpu: "1(T4)", annotations: map[string]string{api.AnnotationRole: "train"}, applied: "1(T4)",
			resources: whList("nvidia.com/gpu", "1"),
			terms:     [][]corev1.NodeSelectorRequirement{{gpuTrue, whIn("gpu-type", "T4"), whIn("train", "true")}}, tolerate: true,
		},
		{
			name: "two-terms", gpu: "2(V100)", edit: twoTerms, applied: "2(V100)",
			resources: whList("nvidia.com/gpu", "2"),
			terms: [][]corev1.NodeSelectorRequirement{
				{whIn("zone", "a"), gpuTrue, whIn("gpu-type", "V100")},
				{whIn("zone", "b"), gpuTrue, whIn("gpu-type", "V100")},
			},
			tolerate: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := whPod(tt.name, tt.gpu, tt.annotations)
			if tt.edit != nil {
				tt.edit(pod)
			}
			if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatalf("creating pod %s (%q): %v", tt.name, tt.gpu, err)
			}
			got, err := client.CoreV1().Pods(ns).Get(ctx, tt.name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a := got.Annotations[api.AnnotationApplied]; a != tt.applied {
				t.Errorf("%s = %q, want %q", api.AnnotationApplied, a, tt.applied)
			}
			if a := got.Annotations[api.AnnotationGPU]; a != tt.gpu {
				t.Errorf("%s changed to %q", api.AnnotationGPU, a)
			}
			res := got.Spec.Containers[0].Resources
			want := tt.resources
			if want == nil {
				want = corev1.ResourceList{}
			}
			for name, l := range map[string]corev1.ResourceList{"limits": res.Limits, "requests": res.Requests} {
				if l == nil {
					l = corev1.ResourceList{}
				}
				if !equality.Semantic.DeepEqual(l, want) {
					t.Errorf("%s = %v, want %v", name, l, want)
				}
			}
			whCheckAffinity(t, got.Spec.Affinity, tt.terms, tt.preferred)
			n := 0
			for _, tol := range got.Spec.Tolerations {
				if tol.MatchToleration(&tolerateGPU) {
					n++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.tolerate]; n != want {
				t.Errorf("GPU toleration %d times in %+v, want %d", n, got.Spec.Tolerations, want)
			}
			if !reflect.DeepEqual(got.Spec.Containers[0].Env, tt.env) {
				t.Errorf("env = %+v, want %+v", got.Spec.Containers[0].Env, tt.env)
			}
		})
	}
}

func whCheckAffinity(t *testing.T, a *corev1.Affinity, terms [][]corev1.NodeSelectorRequirement, preferred []corev1.PreferredSchedulingTerm) {
	t.Helper()
	if len(terms) == 0 && len(preferred) == 0 {
		if a != nil && a.NodeAffinity != nil {
			t.Errorf("node affinity %+v, want none", a.NodeAffinity)
		}
		return
	}
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("no required node affinity in %+v", a)
	}
	var got [][]corev1.NodeSelectorRequirement
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		got = append(got, term.MatchExpressions)
	}
	if !equality.Semantic.DeepEqual(got, terms) {
		t.Errorf("required terms\n got: %+v\nwant: %+v", got, terms)
	}
	if !equality.Semantic.DeepEqual(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution, preferred) {
		t.Errorf("preferred terms\n got: %+v\nwant: %+v", a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution, preferred)
	}
}

func whCheckRefusals(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	for i, gpu := range []string{"2(V100", "1.5", "2(X999)"} {
		t.Run(gpu, func(t *testing.T) {
			_, err := client.CoreV1().Pods(ns).Create(ctx, whPod(fmt.Sprintf("bad-%d", i), gpu, nil), metav1.CreateOptions{})
			if err == nil {
				t.Fatalf("pod with %q admitted", gpu)
			}
			msg := err.Error()
			for _, want := range []string{`admission webhook "pods.gpuplane.io" denied the request`, strconv.Quote(gpu)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %s", msg, want)
				}
			}
		})
	}
	t.Run("conflicting-limit", func(t *testing.T) {
		pod := whPod("conflict", "2(V100)", nil)
		pod.Spec.Containers[0].Resources.Limits = whList("nvidia.com/gpu", "1")
		_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), `"2(V100)"`) {
			t.Errorf("conflicting limit: err = %v, want a refusal quoting the request", err)
		}
	})
}

func whCheckWorkloads(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	template := func(gpu string) corev1.PodTemplateSpec {
		p := whPod("", gpu, nil)
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "train"}, Annotations: p.Annotations},
			Spec:       p.Spec,
		}
	}
	deployment := func(name, gpu string) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "train"}},
				Template: template(gpu),
			},
		}
	}
	t.Run("bad-deployment", func(t *testing.T) {
		_, err := client.AppsV1().Deployments(ns).Create(ctx, deployment("bad", "2(V100"), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("Deployment with a bad request admitted")
		}
		for _, want := range []string{`admission webhook "workloads.gpuplane.io" denied the request`, `"2(V100"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %s", err, want)
			}
		}
	})
	t.Run("good-deployment", func(t *testing.T) {
		if _, err := client.AppsV1().Deployments(ns).Create(ctx, deployment("good", "2(V100|A100)"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("Deployment with a good request refused: %v", err)
		}
	})
	t.Run("bad-cronjob", func(t *testing.T) {
		cj := &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
			Spec: batchv1.CronJobSpec{
				Schedule: "0 3 * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: func() corev1.PodTemplateSpec {
					tmpl := template("1.5")
					tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
					return tmpl
				}()}},
			},
		}
		_, err := client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), `"1.5"`) || !strings.Contains(err.Error(), "cronjobs.gpuplane.io") {
			t.Errorf("CronJob with a bad request: err = %v, want a refusal by cronjobs.gpuplane.io quoting the request", err)
		}
	})
}

// whCheckDown runs with the webhook stopped: matchConditions keep pods without the
// annotation away from it, and failurePolicy Fail refuses the others.
func whCheckDown(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	plain := whPod("plain-while-down", "", map[string]string{"team": "vision"})
	got, err := client.CoreV1().Pods(ns).Create(ctx, plain, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod without the annotation refused while the webhook is down: %v", err)
	}
	if _, ok := got.Annotations[api.AnnotationApplied]; ok || len(got.Spec.Containers[0].Resources.Limits) != 0 || got.Spec.Affinity != nil {
		t.Errorf("pod without the annotation was changed: %+v", got)
	}

	_, err = client.CoreV1().Pods(ns).Create(ctx, whPod("gpu-while-down", "1(T4)", nil), metav1.CreateOptions{})
	if err == nil {
		t.Fatal("pod with the annotation admitted while the webhook is down")
	}
	if !strings.Contains(err.Error(), "pods.gpuplane.io") {
		t.Errorf("error %q does not name the webhook", err)
	}
}
