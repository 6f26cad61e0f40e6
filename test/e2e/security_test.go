//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// secRootPods are the gpuplane workloads allowed to run as root, and why.
var secRootPods = map[string]string{
	// It writes /etc/docker/daemon.json and /etc/containerd/config.toml,
	// root-owned files of the host; it does so without any capability.
	"gpuplane-nodeagent": "writes the container runtime's root-owned configuration on the host",
}

// secWritableHostPaths are the host directories a gpuplane workload may
// mount read-write.
var secWritableHostPaths = map[string][]string{
	"gpuplane-nodeagent": {"/etc/containerd", "/etc/docker"},
}

// secPrivileged are the third-party node components that run privileged or
// in the host's PID namespace, and why; nothing of gpuplane's own may.
var secPrivileged = map[string]string{
	"gpu-manager": "tencent gpu-manager finds containers' processes and injects its vCUDA library (upstream design)",
}

// secWorkload is a rendered pod-owning object.
type secWorkload struct {
	kind, name string
	pod        corev1.PodSpec
	labels     map[string]string
}

func secWorkloads(t *testing.T, objs []*unstructured.Unstructured) []secWorkload {
	t.Helper()
	var out []secWorkload
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment", "DaemonSet", "StatefulSet", "Job":
		default:
			continue
		}
		var w struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		deployConvert(t, o, &w)
		out = append(out, secWorkload{kind: o.GetKind(), name: o.GetName(), pod: w.Spec.Template.Spec, labels: o.GetLabels()})
	}
	return out
}

// TestSecurityPodHardening renders every kustomization under deploy/ and
// checks each workload's security settings: gpuplane's own containers run
// without privilege escalation, without any capability, on a read-only root
// file system, with the runtime's seccomp profile and a memory limit, as
// non-root (the node agent excepted, see secRootPods), outside the host's
// network, PID and IPC namespaces, mounting host paths read-only but those
// they must write. Third-party node components may not be privileged unless
// listed in secPrivileged with the reason.
func TestSecurityPodHardening(t *testing.T) {
	root := repoRoot(t)
	kustomize := deployKustomize(t)
	dirs, _ := deployKustomizations(t, root)
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			for _, w := range secWorkloads(t, deployRender(t, kustomize, root, dir)) {
				own := strings.HasPrefix(w.name, "gpuplane-")
				p := w.pod
				if _, ok := secPrivileged[w.name]; !ok && (p.HostPID || p.HostIPC || p.HostNetwork) {
					t.Errorf("%s %s shares a host namespace (pid %v, ipc %v, network %v)", w.kind, w.name, p.HostPID, p.HostIPC, p.HostNetwork)
				}
				for _, c := range append(slices.Clone(p.InitContainers), p.Containers...) {
					sc := c.SecurityContext
					where := w.kind + " " + w.name + " container " + c.Name
					if sc != nil && sc.Privileged != nil && *sc.Privileged {
						if _, ok := secPrivileged[w.name]; !ok {
							t.Errorf("%s is privileged", where)
						}
					}
					if !own {
						continue
					}
					switch {
					case sc == nil:
						t.Errorf("%s has no securityContext", where)
						continue
					case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
						t.Errorf("%s allows privilege escalation", where)
					case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
						t.Errorf("%s has a writable root file system", where)
					case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
						t.Errorf("%s keeps capabilities: %+v", where, sc.Capabilities)
					}
					seccomp := sc.SeccompProfile
					if seccomp == nil && p.SecurityContext != nil {
						seccomp = p.SecurityContext.SeccompProfile
					}
					if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
						t.Errorf("%s runs without the RuntimeDefault seccomp profile", where)
					}
					nonRoot := sc.RunAsNonRoot
					if nonRoot == nil && p.SecurityContext != nil {
						nonRoot = p.SecurityContext.RunAsNonRoot
					}
					if _, root := secRootPods[w.name]; !root && (nonRoot == nil || !*nonRoot) {
						t.Errorf("%s may run as root", where)
					}
					if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
						t.Errorf("%s has no memory limit", where)
					}
					for _, m := range c.VolumeMounts {
						for _, v := range p.Volumes {
							if v.Name != m.Name || v.HostPath == nil || m.ReadOnly {
								continue
							}
							if !slices.Contains(secWritableHostPaths[w.name], v.HostPath.Path) {
								t.Errorf("%s mounts host path %s writable", where, v.HostPath.Path)
							}
						}
					}
				}
			}
		})
	}
}

// secApplyRBAC applies the ServiceAccounts, roles and bindings of a
// rendered kustomization, and nothing else.
// secWebhookAccount returns the webhook ServiceAccount's client
// configuration and a kubeconfig file with its token: a webhook started with
// it holds exactly the rights the applied RBAC grants.
func secWebhookAccount(ctx context.Context, t *testing.T, c *cluster.Cluster) (*rest.Config, string) {
	t.Helper()
	cfg, err := c.ServiceAccountConfig(ctx, whNamespace, "gpuplane-webhook")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := c.WriteKubeconfig("gpuplane-webhook", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, kubeconfig
}

func secApplyRBAC(ctx context.Context, t *testing.T, c *cluster.Cluster, objs []*unstructured.Unstructured) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	mapper := deployMapper(t, c)
	deployEnsureNamespaces(ctx, t, c.Client(), dyn, mapper, objs)
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			if err := deployApply(ctx, dyn, mapper, o, false); err != nil {
				t.Fatalf("applying %s: %v", deployObjectName(o), err)
			}
		}
	}
}

// TestSecurityWebhookLeastPrivilege runs the webhook in its self-signed mode
// with the token of its own ServiceAccount, holding only the roles of
// deploy/base/webhook: it creates its Secret, writes its CA into both
// webhook configurations, and the API server then calls it. With the same
// token it can read no other Secret, no pod, and change no other webhook
// configuration.
func TestSecurityWebhookLeastPrivilege(t *testing.T) {
	root := repoRoot(t)
	objs := deployRender(t, deployKustomize(t), root, "deploy/base/webhook")
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	admin := c.Client()
	secApplyRBAC(ctx, t, c, objs)
	ns := createNamespace(ctx, t, admin, "e2e-security-webhook")

	cfg, kubeconfig := secWebhookAccount(ctx, t, c)
	own, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	whRegister(ctx, t, admin, root, whNowhere(t))
	// An unrelated Secret and webhook configuration the account must not touch.
	if _, err := admin.CoreV1().Secrets(whNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	url, _ := whStart(t, kubeconfig)
	whPoint(ctx, t, admin, url)
	whWaitServing(ctx, t, admin, ns)
	whCheckCABundles(ctx, t, admin)

	for what, err := range map[string]error{
		"read another Secret": func() error {
			_, err := own.CoreV1().Secrets(whNamespace).Get(ctx, "someone-elses", metav1.GetOptions{})
			return err
		}(),
		"list Secrets": func() error { _, err := own.CoreV1().Secrets(whNamespace).List(ctx, metav1.ListOptions{}); return err }(),
		"list pods":    func() error { _, err := own.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); return err }(),
		"read a Secret of another namespace": func() error {
			_, err := own.CoreV1().Secrets(ns).Get(ctx, "gpuplane-webhook-tls", metav1.GetOptions{})
			return err
		}(),
		"delete its webhook configuration": own.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, "gpuplane-webhook",
			metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}),
		"patch nodes": func() error {
			_, err := own.CoreV1().Nodes().Patch(ctx, "any", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
			return err
		}(),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("the webhook's account may %s: %v", what, err)
		}
	}
}
