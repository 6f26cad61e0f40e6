//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// The deploy tests render deploy/ with the kustomize that `make kustomize` builds
// into the bin directory, and install the CRDs the manifests use from the YAML their
// own Go modules ship (hack/crds/go.mod pins them; `make crds` fetches them into the
// module cache).
const (
	deployFieldManager = "gpuplane-deploy-test"
	// deployWaitLimit bounds every wait on the API server: CRDs established,
	// discovery serving them, the admission policy taking effect.
	deployWaitLimit = 60 * time.Second
)

// deployCRDSources are the CRDs the manifests need, as files of the modules pinned
// in hack/crds/go.mod.
var deployCRDSources = []cluster.CRDSource{
	{Module: "github.com/prometheus-operator/prometheus-operator", File: "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"},
	{Module: "github.com/cert-manager/cert-manager", File: "deploy/crds/cert-manager.io_certificates.yaml"},
	{Module: "github.com/cert-manager/cert-manager", File: "deploy/crds/cert-manager.io_issuers.yaml"},
	{Module: "github.com/kedacore/keda/v2", File: "config/crd/bases/keda.sh_scaledobjects.yaml"},
}

// TestDeployManifestsDryRun renders every kustomization under deploy/ and sends each
// object to the real API server with server-side apply in dry-run mode: schemas,
// defaulting, validation and admission all run, nothing is stored. Every object must
// be accepted.
func TestDeployManifestsDryRun(t *testing.T) {
	root := repoRoot(t)
	kustomize := deployKustomize(t)
	crdFiles := deployCRDFiles(t, root)
	dirs, components := deployKustomizations(t, root)
	if len(dirs) == 0 {
		t.Fatal("no kustomization found under deploy/")
	}
	// Rendered before the control plane starts, so a broken kustomization fails fast.
	renders := map[string][]*unstructured.Unstructured{}
	for _, dir := range dirs {
		renders[dir] = deployRender(t, kustomize, root, dir)
	}
	t.Run("every component is used by an overlay", func(t *testing.T) {
		for _, comp := range components {
			if !deployComponentUsed(t, root, comp, dirs) {
				t.Errorf("component %s is in no kustomization's components: nothing renders it", comp)
			}
		}
	})

	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	deployInstallCRDs(ctx, t, c, crdFiles)
	mapper := deployMapper(t, c)

	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			objs := renders[dir]
			deployEnsureNamespaces(ctx, t, c.Client(), dyn, mapper, objs)
			accepted := 0
			for _, obj := range objs {
				if err := deployApply(ctx, dyn, mapper, obj, true); err != nil {
					t.Errorf("%s refused: %v", deployObjectName(obj), err)
					continue
				}
				accepted++
			}
			t.Logf("%d of %d objects accepted", accepted, len(objs))
		})
	}
}

// TestDeploySchedulerConfiguration checks that the scheduler Deployment runs the
// configuration file deploy/base/scheduler/scheduler-config.yaml as it is (the file
// the other e2e tests and the demo load), that the real kube-scheduler accepts it,
// and that the webhook sends GPU pods to its profile.
func TestDeploySchedulerConfiguration(t *testing.T) {
	root := repoRoot(t)
	kustomize := deployKustomize(t)
	configPath := filepath.Join(root, "deploy", "base", "scheduler", "scheduler-config.yaml")
	file, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatalf("reading the scheduler configuration: %v", err)
	}
	objs := deployRender(t, kustomize, root, "deploy/default")

	sched := deployFind(t, objs, "Deployment", "gpuplane-scheduler")
	var deploy struct {
		Spec struct {
			Template struct {
				Spec corev1.PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	deployConvert(t, sched, &deploy)
	pod := deploy.Spec.Template.Spec
	ks := deployContainer(t, pod, "kube-scheduler")
	ext := deployContainer(t, pod, "extender")

	// --config names a file of a ConfigMap volume; that ConfigMap holds the file as is.
	configArg := deployFlag(ks.Args, "--config")
	if configArg == "" {
		t.Fatalf("kube-scheduler has no --config: %q", ks.Args)
	}
	var configMapName, key string
	for _, m := range ks.VolumeMounts {
		if rel, ok := strings.CutPrefix(configArg, strings.TrimSuffix(m.MountPath, "/")+"/"); ok {
			key = rel
			for _, v := range pod.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil {
					configMapName = v.ConfigMap.Name
				}
			}
		}
	}
	if configMapName == "" {
		t.Fatalf("--config=%s is on no ConfigMap volume of the pod", configArg)
	}
	cm := deployFind(t, objs, "ConfigMap", configMapName)
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if data[key] != string(file) {
		t.Errorf("ConfigMap %s key %s differs from %s:\n%s", configMapName, key, configPath, data[key])
	}
	if deployFlag(ks.Args, "--leader-elect") != "true" {
		t.Errorf("kube-scheduler runs without --leader-elect=true: %q", ks.Args)
	}

	// The profile the webhook names exists, and its extender is the sidecar.
	var config struct {
		Profiles []struct {
			SchedulerName string `json:"schedulerName"`
		} `json:"profiles"`
		Extenders []struct {
			URLPrefix        string                  `json:"urlPrefix"`
			ManagedResources []deployManagedResource `json:"managedResources"`
		} `json:"extenders"`
	}
	if err := yaml.Unmarshal(file, &config); err != nil {
		t.Fatalf("parsing %s: %v", configPath, err)
	}
	var webhook struct {
		Spec struct {
			Template struct {
				Spec corev1.PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	deployConvert(t, deployFind(t, objs, "Deployment", "gpuplane-webhook"), &webhook)
	schedulerName := deployFlag(deployContainer(t, webhook.Spec.Template.Spec, "webhook").Args, "--scheduler-name")
	if !slices.ContainsFunc(config.Profiles, func(p struct {
		SchedulerName string `json:"schedulerName"`
	}) bool {
		return p.SchedulerName == schedulerName
	}) {
		t.Errorf("the webhook sends GPU pods to scheduler %q, a profile %s does not have (profiles: %+v)",
			schedulerName, configPath, config.Profiles)
	}
	// The resource the webhook gives a pod asking "0" brings it to the extender
	// only where the extender names it, and no node advertises it: kube-scheduler
	// must ignore it.
	if placement := deployFlag(deployContainer(t, webhook.Spec.Template.Spec, "webhook").Args, "--placement-resource"); placement != "" {
		for _, e := range config.Extenders {
			i := slices.IndexFunc(e.ManagedResources, func(r deployManagedResource) bool { return r.Name == placement })
			if i < 0 || !e.ManagedResources[i].IgnoredByScheduler {
				t.Errorf("the webhook gives pods asking \"0\" %s, which extender %s does not manage with ignoredByScheduler: true (%+v)",
					placement, e.URLPrefix, e.ManagedResources)
			}
		}
	}
	listen := deployFlag(ext.Args, "--listen")
	_, port, _ := strings.Cut(listen, ":")
	if len(config.Extenders) == 0 {
		t.Errorf("%s configures no extender", configPath)
	}
	for _, e := range config.Extenders {
		if !strings.Contains(e.URLPrefix, "://localhost:"+port) && !strings.Contains(e.URLPrefix, "://127.0.0.1:"+port) {
			t.Errorf("extender urlPrefix %q is not the sidecar, which listens on %q", e.URLPrefix, listen)
		}
	}

	// The real kube-scheduler, built at the version the Deployment runs, takes it.
	c := cluster.New(t, cluster.Options{})
	s, err := c.StartScheduler(t.Context(), cluster.SchedulerOptions{ConfigFile: configPath})
	if err != nil {
		t.Fatalf("kube-scheduler refused %s: %v", configPath, err)
	}
	t.Logf("kube-scheduler ready with %s (log %s)", configPath, s.LogPath())
}

// TestDeployNodeAgentOwnNodeOnly applies the node agent's RBAC and admission policy
// from deploy/ and acts as the agent does: with the token of a pod bound to node
// gpu-a. The agent may label, annotate and set conditions on gpu-a; anything on
// another node, a label it does not own, the node's spec, or a token naming no node
// is refused.
func TestDeployNodeAgentOwnNodeOnly(t *testing.T) {
	root := repoRoot(t)
	kustomize := deployKustomize(t)
	objs := deployRender(t, kustomize, root, "deploy/base/nodeagent")
	ds := deployFind(t, objs, "DaemonSet", "gpuplane-nodeagent")

	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	admin := c.Client()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	mapper := deployMapper(t, c)
	deployEnsureNamespaces(ctx, t, admin, dyn, mapper, objs)
	for _, obj := range objs {
		if err := deployApply(ctx, dyn, mapper, obj, false); err != nil {
			t.Fatalf("applying %s: %v", deployObjectName(obj), err)
		}
	}
	for _, name := range []string{"gpu-a", "gpu-b"} {
		if _, err := c.AddGPUNode(ctx, cluster.NodeSpec{Name: name, Labels: map[string]string{"gpu": "true"}}); err != nil {
			t.Fatal(err)
		}
	}

	// The agent's pod on gpu-a, as its DaemonSet would create it.
	var daemonSet struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	deployConvert(t, ds, &daemonSet)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gpuplane-nodeagent-gpu-a", Namespace: ds.GetNamespace(),
			Labels: daemonSet.Spec.Template.Labels},
		Spec: *daemonSet.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = "gpu-a"
	pod, err = admin.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the agent's pod: %v", err)
	}
	sa := pod.Spec.ServiceAccountName
	seconds := int64(3600)
	tr, err := admin.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &seconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token bound to the agent's pod: %v", err)
	}
	agent := deployTokenClient(t, c, tr.Status.Token)
	unboundConfig, err := c.ServiceAccountConfig(ctx, pod.Namespace, sa)
	if err != nil {
		t.Fatal(err)
	}
	unbound, err := kubernetes.NewForConfig(unboundConfig)
	if err != nil {
		t.Fatal(err)
	}

	// RBAC and the policy reach the API server's caches a moment after they are
	// created; wait until a change of another node is refused by the policy (dry run,
	// so nothing changes while the policy is not in force yet).
	deployWaitRefused(ctx, t, agent, "gpu-b", "only the Node its pod runs on")
	before, err := admin.CoreV1().Nodes().Get(ctx, "gpu-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		client      kubernetes.Interface
		node        string
		subresource string
		patch       string
		// wantRefused is a part of the refusal; empty: the change is allowed.
		wantRefused string
	}{
		{name: "label own node", client: agent, node: "gpu-a",
			patch: `{"metadata":{"labels":{"gpu-type":"V100","gpuplane.io/gpu.count":"8"}}}`},
		{name: "annotate own node", client: agent, node: "gpu-a",
			patch: `{"metadata":{"annotations":{"gpuplane.io/devices":"[]"}}}`},
		{name: "remove own label from own node", client: agent, node: "gpu-a",
			patch: `{"metadata":{"labels":{"gpuplane.io/gpu.count":null}}}`},
		{name: "condition on own node", client: agent, node: "gpu-a", subresource: "status",
			patch: `{"status":{"conditions":[{"type":"GPUDriverReady","status":"True","reason":"DriverFound","message":"driver 550"}]}}`},
		{name: "label another node", client: agent, node: "gpu-b",
			patch:       `{"metadata":{"labels":{"gpu-type":"V100"}}}`,
			wantRefused: "only the Node its pod runs on (gpu-a), not gpu-b"},
		{name: "annotate another node", client: agent, node: "gpu-b",
			patch:       `{"metadata":{"annotations":{"gpuplane.io/devices":"[]"}}}`,
			wantRefused: "only the Node its pod runs on (gpu-a), not gpu-b"},
		{name: "condition on another node", client: agent, node: "gpu-b", subresource: "status",
			patch:       `{"status":{"conditions":[{"type":"GPUDriverReady","status":"False","reason":"NoDriver","message":"none"}]}}`,
			wantRefused: "only the Node its pod runs on (gpu-a), not gpu-b"},
		{name: "role label on own node", client: agent, node: "gpu-a",
			patch:       `{"metadata":{"labels":{"train":"true"}}}`,
			wantRefused: "only its own labels (gpu, gpu-type, vgpu, gpuplane.io/*), not train"},
		{name: "remove a system label from own node", client: agent, node: "gpu-a",
			patch:       `{"metadata":{"labels":{"kubernetes.io/hostname":null}}}`,
			wantRefused: "not kubernetes.io/hostname"},
		{name: "cordon own node", client: agent, node: "gpu-a",
			patch:       `{"spec":{"unschedulable":true}}`,
			wantRefused: "may not change a Node's spec"},
		{name: "token bound to no pod", client: unbound, node: "gpu-a",
			patch:       `{"metadata":{"labels":{"gpu-type":"T4"}}}`,
			wantRefused: "its credentials name no node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sub []string
			if tt.subresource != "" {
				sub = []string{tt.subresource}
			}
			_, err := tt.client.CoreV1().Nodes().Patch(ctx, tt.node, types.StrategicMergePatchType,
				[]byte(tt.patch), metav1.PatchOptions{}, sub...)
			switch {
			case tt.wantRefused == "" && err != nil:
				t.Fatalf("patch %s refused: %v", tt.patch, err)
			case tt.wantRefused != "" && err == nil:
				t.Fatalf("patch %s of node %s allowed, want it refused", tt.patch, tt.node)
			case tt.wantRefused != "" && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.wantRefused)):
				t.Fatalf("patch %s refused with %v; want Forbidden with %q", tt.patch, err, tt.wantRefused)
			}
		})
	}

	// What the agent's informer does, and what RBAC alone refuses.
	if _, err := agent.CoreV1().Nodes().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=gpu-a"}); err != nil {
		t.Errorf("the agent cannot list its own node as its informer does: %v", err)
	}
	err = agent.CoreV1().Nodes().Delete(ctx, "gpu-a", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the agent deleting its own node: got %v, want Forbidden", err)
	}

	after, err := admin.CoreV1().Nodes().Get(ctx, "gpu-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("node gpu-b changed (resourceVersion %s -> %s): labels %v, annotations %v",
			before.ResourceVersion, after.ResourceVersion, after.Labels, after.Annotations)
	}
	own, err := admin.CoreV1().Nodes().Get(ctx, "gpu-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if own.Labels["gpu-type"] != "V100" || own.Labels["train"] != "" || own.Spec.Unschedulable {
		t.Errorf("node gpu-a: labels %v, unschedulable %v; want gpu-type=V100 only from the agent", own.Labels, own.Spec.Unschedulable)
	}
}

// TestDeployMonitoringConsistent checks what ties the monitoring manifests to the
// code: every gpuplane_* series of the Grafana dashboard is a metric some program
// registers, and the HPA example asks for a metric the adapter rules define.
func TestDeployMonitoringConsistent(t *testing.T) {
	root := repoRoot(t)
	kustomize := deployKustomize(t)

	objs := deployRender(t, kustomize, root, "deploy/default")
	dashboard := deployFind(t, objs, "ConfigMap", "gpuplane-grafana-dashboard")
	if dashboard.GetLabels()["grafana_dashboard"] == "" {
		t.Errorf("dashboard ConfigMap lacks the grafana_dashboard label the Grafana sidecar looks for")
	}
	data, _, _ := unstructured.NestedStringMap(dashboard.Object, "data")
	if len(data) != 1 {
		t.Fatalf("dashboard ConfigMap holds %d files, want 1", len(data))
	}
	var dashJSON string
	for _, v := range data {
		dashJSON = v
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal([]byte(dashJSON), &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	registered := deployRegisteredMetrics(t, root)
	metric := regexp.MustCompile(`\bgpuplane_[a-z0-9_]+`)
	seen := map[string]bool{}
	for _, m := range metric.FindAllString(dashJSON, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(m, suffix); ok && registered[base] {
				m = base
			}
		}
		if seen[m] {
			continue
		}
		seen[m] = true
		if !registered[m] {
			t.Errorf("dashboard queries %s, which no program under cmd/ or pkg/ registers", m)
		}
	}
	if len(seen) == 0 {
		t.Error("dashboard queries no gpuplane_* metric")
	}

	adapter := deployRender(t, kustomize, root, "deploy/addons/prometheus-adapter")
	rulesData, _, _ := unstructured.NestedStringMap(deployFind(t, adapter, "ConfigMap", "adapter-config").Object, "data")
	var rules struct {
		Rules []struct {
			SeriesQuery string `json:"seriesQuery"`
			Name        struct {
				As string `json:"as"`
			} `json:"name"`
			MetricsQuery string `json:"metricsQuery"`
		} `json:"rules"`
	}
	if err := yaml.Unmarshal([]byte(rulesData["config.yaml"]), &rules); err != nil {
		t.Fatalf("adapter rules: %v", err)
	}
	defined := map[string]bool{}
	for _, r := range rules.Rules {
		defined[r.Name.As] = true
	}
	example := deployRender(t, kustomize, root, "deploy/examples/gpu-autoscaling")
	hpa := deployFind(t, example, "HorizontalPodAutoscaler", "t4-inference")
	specs, _, _ := unstructured.NestedSlice(hpa.Object, "spec", "metrics")
	if len(specs) == 0 {
		t.Fatal("the HPA example has no metrics")
	}
	for _, s := range specs {
		name, _, _ := unstructured.NestedString(s.(map[string]any), "pods", "metric", "name")
		if !defined[name] {
			t.Errorf("the HPA example scales on %q, which no adapter rule defines (rules: %v)", name, defined)
		}
	}
}

// TestDeployProgramFlags checks that every flag the manifests pass to a gpuplane
// program is one the program knows: each program is built and asked for --help.
func TestDeployProgramFlags(t *testing.T) {
	root := repoRoot(t)
	kustomize := deployKustomize(t)
	dirs, _ := deployKustomizations(t, root)

	// program -> flag -> where the manifests pass it
	uses := map[string]map[string]string{}
	for _, dir := range dirs {
		for _, obj := range deployRender(t, kustomize, root, dir) {
			containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				var ctr corev1.Container
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(c.(map[string]any), &ctr); err != nil {
					t.Fatalf("%s: %v", deployObjectName(obj), err)
				}
				name, ok := strings.CutPrefix(ctr.Image, "gpuplane/")
				if !ok {
					continue
				}
				program, _, _ := strings.Cut(name, ":")
				if uses[program] == nil {
					uses[program] = map[string]string{}
				}
				for _, a := range append(slices.Clone(ctr.Command), ctr.Args...) {
					if flag, ok := strings.CutPrefix(a, "--"); ok {
						flag, _, _ = strings.Cut(flag, "=")
						uses[program][flag] = fmt.Sprintf("%s, %s container %s", dir, deployObjectName(obj), ctr.Name)
					}
				}
			}
		}
	}
	if len(uses) == 0 {
		t.Fatal("no container of the manifests runs a gpuplane/ image")
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("finding the go command: %v", err)
	}
	bin := t.TempDir()
	flagPattern := regexp.MustCompile(`--([a-z0-9][a-z0-9-]*)`)
	for _, program := range slices.Sorted(maps.Keys(uses)) {
		t.Run(program, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, "cmd", program)); err != nil {
				t.Fatalf("the manifests run image gpuplane/%s, and there is no cmd/%s", program, program)
			}
			if _, err := os.Stat(filepath.Join(root, "build", program, "Dockerfile")); err != nil {
				t.Errorf("the manifests run image gpuplane/%s, and build/%s/Dockerfile is missing", program, program)
			}
			exe := filepath.Join(bin, program)
			build := exec.Command(goTool, "build", "-o", exe, "./cmd/"+program)
			build.Dir = root
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build ./cmd/%s: %v\n%s", program, err, out)
			}
			// --help exits 0 or 2 depending on the flag library; the text is what counts.
			help, _ := exec.Command(exe, "--help").CombinedOutput()
			known := map[string]bool{}
			for _, m := range flagPattern.FindAllStringSubmatch(string(help), -1) {
				known[m[1]] = true
			}
			if len(known) == 0 {
				t.Fatalf("%s --help lists no flags:\n%s", program, help)
			}
			for _, flag := range slices.Sorted(maps.Keys(uses[program])) {
				if !known[flag] {
					t.Errorf("--%s (%s) is not a flag of %s; it knows: %s", flag, uses[program][flag], program,
						strings.Join(slices.Sorted(maps.Keys(known)), ", "))
				}
			}
		})
	}
}

// deployMissing fails the test for a missing build prerequisite, or skips it when
// GPUPLANE_E2E_SKIP_MISSING=1, as the cluster harness does for its programs.
func deployMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(cluster.EnvSkipMissing) == "1" {
		t.Skipf("%s (%s=1)", msg, cluster.EnvSkipMissing)
	}
	t.Fatal(msg)
}

// deployKustomize returns the path of the kustomize program in the bin directory.
func deployKustomize(t *testing.T) string {
	t.Helper()
	return binProgram(t, "kustomize", "make kustomize")
}

// binProgram returns the path of program in the bin directory ($GPUPLANE_BIN_DIR, else
// bin/ of the repository), failing (or skipping, see deployMissing) when it is not an
// executable there; build names the make target that builds it.
func binProgram(t *testing.T, program, build string) string {
	t.Helper()
	dir := os.Getenv(cluster.EnvBinDir)
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "bin")
	}
	path := filepath.Join(dir, program)
	if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		deployMissing(t, "%s not found as an executable at %s; `%s` builds it", program, path, build)
	}
	return path
}

// deployCRDFiles returns the CRD files of deployCRDSources from the module cache,
// without going to the network.
func deployCRDFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := cluster.CRDFiles(root, deployCRDSources)
	if errors.Is(err, cluster.ErrCRDsMissing) {
		deployMissing(t, "%v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	return files
}

// deployKustomizations returns the directories under deploy/ holding a
// kustomization (relative to root, with forward slashes), and those holding a
// Component apart.
func deployKustomizations(t *testing.T, root string) (kustomizations, components []string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(root, "deploy"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var k struct{ Kind string }
		if err := yaml.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		if k.Kind == "Component" {
			components = append(components, filepath.ToSlash(rel))
		} else {
			kustomizations = append(kustomizations, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("finding the kustomizations: %v", err)
	}
	return kustomizations, components
}

// deployComponentUsed reports whether a kustomization lists the component.
func deployComponentUsed(t *testing.T, root, component string, dirs []string) bool {
	t.Helper()
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(root, dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k struct{ Components []string }
		if err := yaml.Unmarshal(raw, &k); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, c := range k.Components {
			if filepath.ToSlash(filepath.Clean(filepath.Join(dir, c))) == component {
				return true
			}
		}
	}
	return false
}

// deployRender runs kustomize build on dir (relative to root) and returns its objects.
func deployRender(t *testing.T, kustomize, root, dir string) []*unstructured.Unstructured {
	t.Helper()
	cmd := exec.Command(kustomize, "build", filepath.Join(root, filepath.FromSlash(dir)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, stderr.String())
	}
	objs, err := deployDecode(out)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	if len(objs) == 0 {
		t.Fatalf("kustomize build %s rendered no object", dir)
	}
	return objs
}

// deployDecode splits a YAML stream into objects.
func deployDecode(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding object %d: %w", len(objs)+1, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("object %d has no kind or name: %v", len(objs)+1, m)
		}
		objs = append(objs, u)
	}
}

// deployInstallCRDs creates the CRDs in the files and waits until discovery serves
// them, deployWaitLimit for all of them.
func deployInstallCRDs(ctx context.Context, t *testing.T, c *cluster.Cluster, files []string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, deployWaitLimit)
	defer cancel()
	if err := c.InstallCRDs(wctx, files); err != nil {
		t.Fatal(err)
	}
}

// deployMapper maps kinds to resources from the API server's discovery.
func deployMapper(t *testing.T, c *cluster.Cluster) meta.RESTMapper {
	t.Helper()
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
}

// deployEnsureNamespaces creates, for real, every namespace the objects live in
// that does not exist yet: a dry-run create in a missing namespace is refused. A
// namespace the objects define is created as defined (labels included).
func deployEnsureNamespaces(ctx context.Context, t *testing.T, client kubernetes.Interface, dyn dynamic.Interface,
	mapper meta.RESTMapper, objs []*unstructured.Unstructured) {
	t.Helper()
	defined := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			defined[o.GetName()] = o
		}
	}
	for _, o := range objs {
		ns := o.GetNamespace()
		if ns == "" {
			continue
		}
		if _, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
			continue
		} else if !apierrors.IsNotFound(err) {
			t.Fatalf("reading namespace %s: %v", ns, err)
		}
		nsObj := defined[ns]
		if nsObj == nil {
			nsObj = &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
		}
		if err := deployApply(ctx, dyn, mapper, nsObj, false); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
}

// deployApply server-side applies obj, as a dry run or for real.
func deployApply(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, obj *unstructured.Unstructured, dryRun bool) error {
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("the API server serves no %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			return fmt.Errorf("%s is namespaced but names no namespace", deployObjectName(obj))
		}
		ri = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	} else if obj.GetNamespace() != "" {
		return fmt.Errorf("%s is cluster-scoped but names namespace %q", deployObjectName(obj), obj.GetNamespace())
	}
	opts := metav1.ApplyOptions{FieldManager: deployFieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, opts)
	return err
}

// deployWaitRefused waits until the node agent's policy refuses a change of node
// (a dry run: nothing is changed while it is not in force).
func deployWaitRefused(ctx context.Context, t *testing.T, client kubernetes.Interface, node, want string) {
	t.Helper()
	patch := []byte(`{"metadata":{"labels":{"gpu-type":"V100"}}}`)
	var last error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, deployWaitLimit, true, func(ctx context.Context) (bool, error) {
		_, last = client.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, patch,
			metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		return last != nil && strings.Contains(last.Error(), want), nil
	})
	if err != nil {
		t.Fatalf("the node agent's policy did not refuse a change of node %s within %s (%v); last answer: %v",
			node, deployWaitLimit, err, last)
	}
}

// deployTokenClient returns a client that authenticates with a bearer token.
func deployTokenClient(t *testing.T, c *cluster.Cluster, token string) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(&rest.Config{
		Host:            c.Host(),
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CABundle()},
		BearerToken:     token,
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// deployRegisteredMetrics returns the gpuplane_* names written as string literals
// in the non-test Go files under cmd/ and pkg/: the metrics the programs register.
func deployRegisteredMetrics(t *testing.T, root string) map[string]bool {
	t.Helper()
	literal := regexp.MustCompile(`"(gpuplane_[a-z0-9_]+)"`)
	names := map[string]bool{}
	for _, top := range []string{"cmd", "pkg"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range literal.FindAllSubmatch(src, -1) {
				names[string(m[1])] = true
			}
			return nil
		})
		if err != nil {
			t.Fatalf("reading the sources: %v", err)
		}
	}
	return names
}

// deployFind returns the object of that kind and name.
func deployFind(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among the rendered objects", kind, name)
	return nil
}

// deployConvert decodes an object into a typed structure.
func deployConvert(t *testing.T, obj *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		t.Fatalf("decoding %s: %v", deployObjectName(obj), err)
	}
}

func deployContainer(t *testing.T, pod corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q in the pod", name)
	return corev1.Container{}
}

// deployManagedResource is an entry of an extender's managedResources.
type deployManagedResource struct {
	Name               string `json:"name"`
	IgnoredByScheduler bool   `json:"ignoredByScheduler"`
}

// deployFlag returns the value of --name=value among args ("true" for a bare --name).
func deployFlag(args []string, name string) string {
	for _, a := range args {
		if a == name {
			return "true"
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func deployObjectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}
