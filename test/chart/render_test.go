package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// The chart is rendered as `helm install gpuplane charts/gpuplane --dry-run=client`
// renders it: release gpuplane in the namespace default (where the release record
// would live; the objects name their own namespace), on the Kubernetes version the
// project tests with.
const (
	releaseName      = "gpuplane"
	releaseNamespace = "default"
	kubeVersion      = "v1.37.2"
)

// object is one rendered Kubernetes object, as JSON decodes it.
type object = map[string]any

// repoRoot is the repository root: this package is test/chart.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// chartDir is the chart's directory.
func chartDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "charts", "gpuplane")
}

// loadChart loads the chart from its directory.
func loadChart(t *testing.T) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return ch
}

// capabilities are those of the cluster the chart is rendered for.
func capabilities(t *testing.T) *common.Capabilities {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return caps
}

// renderChart renders the chart with vals over values.yaml, as Helm does on
// install: the values are checked against values.schema.json (an error names
// what is wrong), then every template is rendered, strictly (a template reading
// a value that is not there is an error). It returns the objects and NOTES.txt.
func renderChart(t *testing.T, ch *chartv2.Chart, vals map[string]any) ([]object, string, error) {
	t.Helper()
	opts := common.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, capabilities(t), false)
	if err != nil {
		return nil, "", err
	}
	files, err := engine.Engine{Strict: true}.Render(ch, rv)
	if err != nil {
		return nil, "", fmt.Errorf("rendering the chart: %w", err)
	}
	var objs []object
	var notes string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		switch base := filepath.Base(name); {
		case base == "NOTES.txt":
			notes = files[name]
			continue
		case strings.HasPrefix(base, "_"):
			continue
		}
		docs, err := decodeStream([]byte(files[name]))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		objs = append(objs, docs...)
	}
	return objs, notes, nil
}

// renderKustomize runs kustomize build on each directory (relative to the
// repository root) with the kustomize library, as bin/kustomize does, and
// returns their objects together.
func renderKustomize(t *testing.T, dirs ...string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	var objs []object
	for _, dir := range dirs {
		m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), filepath.FromSlash(dir)))
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		out, err := m.AsYaml()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		docs, err := decodeStream(out)
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		objs = append(objs, docs...)
	}
	return objs
}

// decodeStream splits a YAML stream into objects, skipping empty documents, and
// gives each the form JSON gives it, so that the two renderings compare alike.
func decodeStream(stream []byte) ([]object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(stream))
	var objs []object
	for {
		var doc any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding document %d: %w", len(objs)+1, err)
		}
		if doc == nil {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		var obj object
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("document %d is not an object: %w", len(objs)+1, err)
		}
		if key(obj) == "" {
			return nil, fmt.Errorf("document %d has no kind or name: %s", len(objs)+1, raw)
		}
		objs = append(objs, obj)
	}
}

// key names an object: its API group, kind, namespace and name.
func key(obj object) string {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if kind == "" || name == "" {
		return ""
	}
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group = "core"
	}
	return group + " " + kind + " " + ns + "/" + name
}

// index maps each object's key to the object, failing on a key seen twice.
func index(t *testing.T, what string, objs []object) map[string]object {
	t.Helper()
	m := map[string]object{}
	for _, o := range objs {
		k := key(o)
		if _, dup := m[k]; dup {
			t.Fatalf("%s renders %s twice", what, k)
		}
		m[k] = o
	}
	return m
}

// compareObjects reports every object one side renders and the other does not,
// and every object the two render differently, with a diff of the two.
func compareObjects(t *testing.T, kustomize, chart []object) {
	t.Helper()
	want := index(t, "kustomize", kustomize)
	got := index(t, "the chart", chart)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			t.Errorf("the chart does not render %s, which kustomize does", k)
			continue
		}
		if !reflect.DeepEqual(want[k], g) {
			t.Errorf("%s differs (- kustomize, + chart):\n%s", k, diff(want[k], g))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("the chart renders %s, which kustomize does not", k)
		}
	}
}

// diff is a unified diff of two objects as YAML with sorted keys.
func diff(a, b object) string {
	ya, _ := sigsyaml.Marshal(a)
	yb, _ := sigsyaml.Marshal(b)
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(ya)), B: difflib.SplitLines(string(yb)),
		FromFile: "kustomize", ToFile: "chart", Context: 3,
	})
	if err != nil {
		return err.Error()
	}
	return d
}

// values builds a values tree from dotted paths, as `helm --set` would
// (with typed values): values("a.b", 1, "a.c", "x") is {a: {b: 1, c: x}}.
func values(pathsAndValues ...any) map[string]any {
	root := map[string]any{}
	for i := 0; i+1 < len(pathsAndValues); i += 2 {
		path := strings.Split(pathsAndValues[i].(string), ".")
		m := root
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[path[len(path)-1]] = pathsAndValues[i+1]
	}
	return root
}
