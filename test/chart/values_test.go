package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// TestChartRefusesBadValues renders the chart with wrong values: values.schema.json
// must refuse each before any template runs, with a message naming the value and
// what would be accepted.
func TestChartRefusesBadValues(t *testing.T) {
	ch := loadChart(t)
	tests := []struct {
		name   string
		values map[string]any
		want   []string // fragments of the message
	}{
		{"unknown certificate mode", values("webhook.certificates.mode", "letsencrypt"),
			[]string{"/webhook/certificates/mode", "'self-signed'", "'cert-manager'"}},
		{"unknown sharing backend", values("sharing.backends", []any{"gpu-manager", "vgpu"}),
			[]string{"/sharing/backends/1", "'gpu-manager'"}},
		{"backend twice", values("sharing.backends", []any{"gpu-manager", "gpu-manager"}),
			[]string{"/sharing/backends", "are equal"}},
		{"unknown container runtime", values("containerRuntime", "cri-o"),
			[]string{"/containerRuntime", "'containerd'", "'docker'"}},
		{"misspelt key", values("webhook.replica", 3),
			[]string{"/webhook", "'replica'", "not allowed"}},
		{"unknown top-level key", values("certManager", map[string]any{"enabled": true}),
			[]string{"'certManager'", "not allowed"}},
		{"namespace not a DNS label", values("namespace.name", "GPU_Plane"),
			[]string{"/namespace/name", "does not match pattern"}},
		{"no webhook replica", values("webhook.replicas", 0),
			[]string{"/webhook/replicas", "minimum"}},
		{"replicas as a string", values("scheduler.replicas", "2"),
			[]string{"/scheduler/replicas", "want integer"}},
		{"empty image tag", values("extender.image.tag", ""),
			[]string{"/extender/image/tag", "minLength"}},
		{"unknown pull policy", values("nodeAgent.image.pullPolicy", "Sometimes"),
			[]string{"/nodeAgent/image/pullPolicy", "'IfNotPresent'"}},
		{"Prometheus without a scheme", values("extender.prometheusURL", "prometheus-k8s.monitoring.svc:9090"),
			[]string{"/extender/prometheusURL", "does not match pattern"}},
		{"issuer without a name", values("webhook.certificates.mode", "cert-manager",
			"webhook.certificates.certManager.issuerRef", map[string]any{"kind": "ClusterIssuer"}),
			[]string{"/webhook/certificates/certManager/issuerRef", "'name'"}},
		{"unknown cgroup driver", values("sharing.gpuManager.cgroupDriver", "systemd.slice"),
			[]string{"/sharing/gpuManager/cgroupDriver", "'cgroupfs'"}},
		{"enabled as a string", values("devicePlugin.enabled", "false"),
			[]string{"/devicePlugin/enabled", "want boolean"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := renderChart(t, ch, tc.values)
			if err == nil {
				t.Fatalf("values %v were accepted", tc.values)
			}
			t.Logf("refused: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the message does not say %q", w)
				}
			}
		})
	}
}

// TestChartLint runs Helm's linter (`helm lint --strict`) on the chart with each
// case's values: any warning or error fails.
func TestChartLint(t *testing.T) {
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			result := lint.RunAll(chartDir(t), tc.values, releaseNamespace, lint.WithKubeVersion(kv))
			for _, m := range result.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %v", m)
				} else {
					t.Logf("lint: %v", m)
				}
			}
		})
	}
}

// TestChartKubeVersion checks the chart's kubeVersion against the versions
// docs/deploy.md names: 1.32 is the oldest that works (pod-bound tokens carry the
// node's name), 1.37 the one the project tests with.
func TestChartKubeVersion(t *testing.T) {
	constraint := loadChart(t).Metadata.KubeVersion
	for v, want := range map[string]bool{"v1.31.9": false, "v1.32.0": true, "v1.37.2": true, "v1.32.4-gke.1": true} {
		if got := chartutil.IsCompatibleRange(constraint, v); got != want {
			t.Errorf("kubeVersion %q accepts %s: %v, want %v", constraint, v, got, want)
		}
	}
}

// TestChartNotes checks that NOTES.txt tells the operator the next steps for the
// values used: the node labels, and what a mode or an empty value asks of them.
func TestChartNotes(t *testing.T) {
	ch := loadChart(t)
	tests := []struct {
		name      string
		values    map[string]any
		want, not []string
	}{
		{"defaults", nil,
			[]string{"namespace gpuplane-system", "kubectl label node NODE gpu=true", "vgpu=true", "systemctl restart containerd",
				"gpuplane.io/gpu", "http://prometheus-k8s.monitoring.svc:9090"},
			[]string{"cert-manager", "ignores real GPU load", "kubectl gpuplane ui"}},
		{"the page on, in another namespace", values("ui.enabled", true, "namespace.name", "gpu-system"),
			[]string{"kubectl gpuplane ui -n gpu-system"},
			nil},
		{"no sharing, docker, cert-manager, no Prometheus",
			values("sharing.backends", []any{}, "containerRuntime", "docker", "webhook.certificates.mode", "cert-manager",
				"extender.prometheusURL", "", "namespace.name", "gpu-system"),
			[]string{"namespace gpu-system", "systemctl restart docker", "get certificate gpuplane-webhook", "ignores real GPU load",
				"kubectl -n gpu-system"},
			[]string{"vgpu=true", "restart containerd"}},
		{"no node agent", values("nodeAgent.enabled", false),
			[]string{"gpu=true"},
			[]string{"gpuplane-nodeagent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, notes, err := renderChart(t, ch, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES.txt does not say %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES.txt says %q, which does not apply:\n%s", w, notes)
				}
			}
		})
	}
}

// TestChartValuesDocumented checks the values table of docs/deploy.md ("Install
// with Helm") against values.yaml: one row per value, in the same order, with
// the default values.yaml gives it.
func TestChartValuesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	flattenValues(t, "", doc.Content[0], &want)

	md, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- chart values: begin -->", "<!-- chart values: end -->"
	text := string(md)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("docs/deploy.md has no values table between %q and %q", begin, end)
	}
	row := regexp.MustCompile("^\\| `([^`]+)` \\| `([^`]*)` \\|")
	var got []string
	for _, line := range strings.Split(text[i+len(begin):j], "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			got = append(got, m[1]+" = "+m[2])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("docs/deploy.md's values table (key = default) is\n  %s\nvalues.yaml has\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// flattenValues appends "key = default" for every leaf of a values.yaml mapping
// node, the default as JSON (an empty map or list is a leaf).
func flattenValues(t *testing.T, prefix string, n *yaml.Node, out *[]string) {
	t.Helper()
	if n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			flattenValues(t, k, n.Content[i+1], out)
		}
		return
	}
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatalf("values.yaml %s: %v", prefix, err)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("values.yaml %s: %v", prefix, err)
	}
	*out = append(*out, fmt.Sprintf("%s = %s", prefix, raw))
}
