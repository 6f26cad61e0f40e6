package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// edit turns the objects kustomize renders into those the chart must render for
// a case's values: what a value changes, said once more on kustomize's side.
type edit func(t *testing.T, objs []object) []object

// chartCases are the values the chart is rendered with, each beside the
// kustomize directories whose objects (with the edits applied) it must render.
// The first ones are the kustomize tree's own variants, unedited; the others
// set a value the tree has no overlay for and say what it changes.
var chartCases = []struct {
	name      string
	values    map[string]any
	kustomize []string
	edits     []edit
}{
	{
		name:      "defaults are deploy/default",
		kustomize: []string{"deploy/default"},
	},
	{
		name:      "self-signed is deploy/overlays/self-signed",
		values:    values("webhook.certificates.mode", "self-signed"),
		kustomize: []string{"deploy/overlays/self-signed"},
	},
	{
		name:      "cert-manager is deploy/overlays/cert-manager",
		values:    values("webhook.certificates.mode", "cert-manager"),
		kustomize: []string{"deploy/overlays/cert-manager"},
	},
	{
		name:      "docker is deploy/overlays/docker",
		values:    values("containerRuntime", "docker"),
		kustomize: []string{"deploy/overlays/docker"},
	},
	{
		name:      "ui is deploy/overlays/ui",
		values:    values("ui.enabled", true),
		kustomize: []string{"deploy/overlays/ui"},
	},
	{
		name:      "dra is deploy/overlays/dra",
		values:    values("dra.enabled", true),
		kustomize: []string{"deploy/overlays/dra"},
	},
	{
		name:      "prometheusAdapter is deploy/addons/prometheus-adapter beside deploy/default",
		values:    values("prometheusAdapter.enabled", true),
		kustomize: []string{"deploy/default", "deploy/addons/prometheus-adapter"},
	},
	{
		// docs/deploy.md, "Another namespace": every place that names it.
		name:      "another namespace",
		values:    values("namespace.name", "gpu-system"),
		kustomize: []string{"deploy/default"},
		edits:     []edit{replaceText("gpuplane-system", "gpu-system")},
	},
	{
		name:      "another namespace with cert-manager",
		values:    values("namespace.name", "gpu-system", "webhook.certificates.mode", "cert-manager"),
		kustomize: []string{"deploy/overlays/cert-manager"},
		edits:     []edit{replaceText("gpuplane-system", "gpu-system")},
	},
	{
		name:      "namespace made by the operator",
		values:    values("namespace.create", false),
		kustomize: []string{"deploy/default"},
		edits:     []edit{drop("core Namespace /gpuplane-system")},
	},
	{
		name: "cert-manager with an issuer of the cluster",
		values: values("webhook.certificates.mode", "cert-manager",
			"webhook.certificates.certManager.issuerRef", map[string]any{"kind": "ClusterIssuer", "name": "corp-ca", "group": "cert-manager.io"}),
		kustomize: []string{"deploy/overlays/cert-manager"},
		edits: []edit{
			drop("cert-manager.io Issuer gpuplane-system/gpuplane-selfsigned",
				"cert-manager.io Certificate gpuplane-system/gpuplane-ca",
				"cert-manager.io Issuer gpuplane-system/gpuplane-ca"),
			set("cert-manager.io Certificate gpuplane-system/gpuplane-webhook", "spec.issuerRef",
				map[string]any{"kind": "ClusterIssuer", "name": "corp-ca", "group": "cert-manager.io"}),
		},
	},
	{
		name:      "no sharing backend",
		values:    values("sharing.backends", []any{}),
		kustomize: []string{"deploy/default"},
		edits: []edit{drop(
			"core ServiceAccount gpuplane-system/gpu-manager",
			"rbac.authorization.k8s.io ClusterRole /gpuplane-gpu-manager",
			"rbac.authorization.k8s.io ClusterRoleBinding /gpuplane-gpu-manager",
			"apps DaemonSet gpuplane-system/gpu-manager",
		)},
	},
	{
		name:      "gpu-manager on cgroupfs",
		values:    values("sharing.gpuManager.cgroupDriver", "cgroupfs"),
		kustomize: []string{"deploy/default"},
		edits:     []edit{setEnv("apps DaemonSet gpuplane-system/gpu-manager", "gpu-manager", "CGROUP_DRIVER", "cgroupfs")},
	},
	{
		name: "node stack parts off",
		values: values("nodeAgent.enabled", false, "devicePlugin.enabled", false,
			"dcgmExporter.enabled", false, "sharing.backends", []any{}),
		kustomize: []string{"deploy/default"},
		edits: []edit{drop(
			"core ServiceAccount gpuplane-system/gpuplane-nodeagent",
			"rbac.authorization.k8s.io ClusterRole /gpuplane-nodeagent",
			"rbac.authorization.k8s.io ClusterRoleBinding /gpuplane-nodeagent",
			"admissionregistration.k8s.io ValidatingAdmissionPolicy /gpuplane-nodeagent-own-node",
			"admissionregistration.k8s.io ValidatingAdmissionPolicyBinding /gpuplane-nodeagent-own-node",
			"apps DaemonSet gpuplane-system/gpuplane-nodeagent",
			"core Service gpuplane-system/gpuplane-nodeagent",
			"monitoring.coreos.com ServiceMonitor gpuplane-system/gpuplane-nodeagent",
			"apps DaemonSet gpuplane-system/nvidia-device-plugin",
			"apps DaemonSet gpuplane-system/dcgm-exporter",
			"core Service gpuplane-system/dcgm-exporter",
			"monitoring.coreos.com ServiceMonitor gpuplane-system/dcgm-exporter",
			"core ServiceAccount gpuplane-system/gpu-manager",
			"rbac.authorization.k8s.io ClusterRole /gpuplane-gpu-manager",
			"rbac.authorization.k8s.io ClusterRoleBinding /gpuplane-gpu-manager",
			"apps DaemonSet gpuplane-system/gpu-manager",
		)},
	},
	{
		name: "no monitoring",
		values: values("monitoring.serviceMonitors.enabled", false,
			"monitoring.dashboard.enabled", false),
		kustomize: []string{"deploy/default"},
		edits: []edit{drop(
			"monitoring.coreos.com ServiceMonitor gpuplane-system/gpuplane-webhook",
			"monitoring.coreos.com ServiceMonitor gpuplane-system/gpuplane-extender",
			"monitoring.coreos.com ServiceMonitor gpuplane-system/gpuplane-nodeagent",
			"monitoring.coreos.com ServiceMonitor gpuplane-system/dcgm-exporter",
			"core ConfigMap gpuplane-system/gpuplane-grafana-dashboard",
		)},
	},
	{
		name:      "another Prometheus",
		values:    values("extender.prometheusURL", "https://prometheus.example:9443"),
		kustomize: []string{"deploy/default"},
		edits:     []edit{replaceText("http://prometheus-k8s.monitoring.svc:9090", "https://prometheus.example:9443")},
	},
	{
		name:      "no Prometheus",
		values:    values("extender.prometheusURL", ""),
		kustomize: []string{"deploy/default"},
		edits:     []edit{dropArg("apps Deployment gpuplane-system/gpuplane-scheduler", "extender", "--prometheus-url=http://prometheus-k8s.monitoring.svc:9090")},
	},
	{
		name: "images from a mirror",
		values: values("webhook.image", map[string]any{"repository": "mirror.example/gpuplane/webhook", "tag": "v0.2.0", "pullPolicy": "Always"},
			"scheduler.image.tag", "v1.36.1",
			"sharing.gpuManager.image.pullPolicy", "IfNotPresent"),
		kustomize: []string{"deploy/default"},
		edits: []edit{
			setContainer("apps Deployment gpuplane-system/gpuplane-webhook", "webhook", "image", "mirror.example/gpuplane/webhook:v0.2.0"),
			setContainer("apps Deployment gpuplane-system/gpuplane-webhook", "webhook", "imagePullPolicy", "Always"),
			setContainer("apps Deployment gpuplane-system/gpuplane-scheduler", "kube-scheduler", "image", "registry.k8s.io/kube-scheduler:v1.36.1"),
			setContainer("apps DaemonSet gpuplane-system/gpu-manager", "gpu-manager", "imagePullPolicy", "IfNotPresent"),
		},
	},
	{
		name:      "replicas",
		values:    values("webhook.replicas", 3, "scheduler.replicas", 1),
		kustomize: []string{"deploy/default"},
		edits: []edit{
			set("apps Deployment gpuplane-system/gpuplane-webhook", "spec.replicas", 3),
			set("apps Deployment gpuplane-system/gpuplane-scheduler", "spec.replicas", 1),
		},
	},
}

// TestChartRendersKustomizeObjects renders the chart for each case's values and
// kustomize for its directories, and compares the two object by object: the
// same kinds, namespaces and names, and each object the same in every field.
func TestChartRendersKustomizeObjects(t *testing.T) {
	ch := loadChart(t)
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			want := renderKustomize(t, tc.kustomize...)
			for _, e := range tc.edits {
				want = e(t, want)
			}
			got, _, err := renderChart(t, ch, tc.values)
			if err != nil {
				t.Fatalf("rendering the chart with %v: %v", tc.values, err)
			}
			compareObjects(t, want, got)
		})
	}
}

// TestChartCasesCoverDeploy checks that every way deploy/ installs gpuplane (deploy/default,
// each overlay, each addon) is a case of TestChartRendersKustomizeObjects, so that
// an overlay added to deploy/ without its values in the chart fails here.
func TestChartCasesCoverDeploy(t *testing.T) {
	root := repoRoot(t)
	covered := map[string]bool{}
	for _, tc := range chartCases {
		if len(tc.edits) == 0 {
			for _, dir := range tc.kustomize {
				covered[dir] = true
			}
		}
	}
	dirs := []string{"deploy/default"}
	for _, parent := range []string{"deploy/overlays", "deploy/addons"} {
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(parent)))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, parent+"/"+e.Name())
			}
		}
	}
	for _, dir := range dirs {
		if !covered[dir] {
			t.Errorf("%s is in no case that compares the chart with it unedited: add the values that render it to chartCases", dir)
		}
	}
}

// find returns the object of key k, failing the test when there is none.
func find(t *testing.T, objs []object, k string) object {
	t.Helper()
	for _, o := range objs {
		if key(o) == k {
			return o
		}
	}
	t.Fatalf("kustomize renders no %s for the case's edit", k)
	return nil
}

// drop removes the objects of the keys, each of which must be there.
func drop(keys ...string) edit {
	return func(t *testing.T, objs []object) []object {
		t.Helper()
		for _, k := range keys {
			find(t, objs, k)
		}
		return slices.DeleteFunc(objs, func(o object) bool { return slices.Contains(keys, key(o)) })
	}
}

// replaceText replaces old by new in every string of every object, keys
// included.
func replaceText(old, new string) edit {
	return func(t *testing.T, objs []object) []object {
		t.Helper()
		found := false
		out := make([]object, 0, len(objs))
		for _, o := range objs {
			raw, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			found = found || strings.Contains(string(raw), old)
			var n object
			if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), old, new)), &n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		if !found {
			t.Fatalf("kustomize renders no %q for the case's edit", old)
		}
		return out
	}
}

// set sets the field at the dotted path of the object k to v (in JSON's form).
func set(k, path string, v any) edit {
	return func(t *testing.T, objs []object) []object {
		t.Helper()
		m := find(t, objs, k)
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				t.Fatalf("%s has no %s for the case's edit", k, path)
			}
			m = next
		}
		m[parts[len(parts)-1]] = jsonForm(t, v)
		return objs
	}
}

// container returns the named container of the pod template of workload k.
func container(t *testing.T, objs []object, k, name string) map[string]any {
	t.Helper()
	spec, _ := find(t, objs, k)["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	cs, _ := pod["containers"].([]any)
	for _, c := range cs {
		if c, ok := c.(map[string]any); ok && c["name"] == name {
			return c
		}
	}
	t.Fatalf("%s has no container %s for the case's edit", k, name)
	return nil
}

// setContainer sets a field of a container of workload k.
func setContainer(k, name, field string, v any) edit {
	return func(t *testing.T, objs []object) []object {
		t.Helper()
		container(t, objs, k, name)[field] = jsonForm(t, v)
		return objs
	}
}

// setEnv sets the value of an environment variable a container of workload k
// has.
func setEnv(k, name, env, value string) edit {
	return func(t *testing.T, objs []object) []object {
		t.Helper()
		for _, e := range container(t, objs, k, name)["env"].([]any) {
			if e := e.(map[string]any); e["name"] == env {
				e["value"] = value
				return objs
			}
		}
		t.Fatalf("container %s of %s has no env %s for the case's edit", name, k, env)
		return nil
	}
}

// dropArg removes an argument a container of workload k has.
func dropArg(k, name, arg string) edit {
	return func(t *testing.T, objs []object) []object {
		t.Helper()
		c := container(t, objs, k, name)
		args, _ := c["args"].([]any)
		i := slices.Index(args, any(arg))
		if i < 0 {
			t.Fatalf("container %s of %s has no argument %s for the case's edit", name, k, arg)
		}
		c["args"] = slices.Delete(args, i, i+1)
		return objs
	}
}

// jsonForm returns v as JSON decodes it (numbers become float64).
func jsonForm(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
