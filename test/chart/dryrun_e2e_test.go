//go:build e2e

package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// The CRDs the chart's objects use, from the modules hack/crds/go.mod pins (`make
// crds` fetches them into the module cache), as test/e2e's deploy tests install them.
var crdSources = []struct{ module, file string }{
	{"github.com/prometheus-operator/prometheus-operator", "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"},
	{"github.com/cert-manager/cert-manager", "deploy/crds/cert-manager.io_certificates.yaml"},
	{"github.com/cert-manager/cert-manager", "deploy/crds/cert-manager.io_issuers.yaml"},
}

const (
	dryRunFieldManager = "gpuplane-chart-test"
	dryRunWaitLimit    = 60 * time.Second
)

// TestChartDryRun renders the chart for every case of TestChartRendersKustomizeObjects
// and sends each object to a real kube-apiserver by server-side apply in dry-run
// mode: schemas, defaulting, validation and admission run, nothing is stored. Every
// object must be accepted. (The kustomize tree's objects go through the same in
// test/e2e's TestDeployManifestsDryRun; this covers the values no overlay has.)
func TestChartDryRun(t *testing.T) {
	root := repoRoot(t)
	crdFiles := crdFiles(t, root)
	ch := loadChart(t)
	renders := make([][]object, len(chartCases))
	for i, tc := range chartCases {
		objs, _, err := renderChart(t, ch, tc.values)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		renders[i] = objs
	}

	binDir := os.Getenv(cluster.EnvBinDir)
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	c := cluster.New(t, cluster.Options{BinDir: binDir})
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	installCRDs(ctx, t, dyn, disc, crdFiles)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))

	for i, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			objs := renders[i]
			ensureNamespaces(ctx, t, dyn, mapper, objs)
			for _, o := range objs {
				if err := apply(ctx, dyn, mapper, o, true); err != nil {
					t.Errorf("%s refused: %v", key(o), err)
				}
			}
			t.Logf("%d objects sent", len(objs))
		})
	}
}

// crdFiles returns the CRD files of crdSources from the module cache, without
// going to the network.
func crdFiles(t *testing.T, root string) []string {
	t.Helper()
	var modules []string
	for _, s := range crdSources {
		if !slices.Contains(modules, s.module) {
			modules = append(modules, s.module)
		}
	}
	cmd := exec.Command("go", append([]string{"mod", "download", "-json"}, modules...)...)
	cmd.Dir = filepath.Join(root, "hack", "crds")
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, cmdErr := cmd.Output()
	dirs := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct{ Path, Dir, Error string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("reading `go mod download -json` in hack/crds: %v", err)
		}
		if m.Error == "" && m.Dir != "" {
			dirs[m.Path] = m.Dir
		}
	}
	var files []string
	for _, s := range crdSources {
		dir, ok := dirs[s.module]
		if !ok {
			msg := fmt.Sprintf("module %s (pinned in hack/crds/go.mod) is not in the module cache; `make crds` fetches it (go: %v)", s.module, cmdErr)
			if os.Getenv(cluster.EnvSkipMissing) == "1" {
				t.Skipf("%s (%s=1)", msg, cluster.EnvSkipMissing)
			}
			t.Fatal(msg)
		}
		files = append(files, filepath.Join(dir, filepath.FromSlash(s.file)))
	}
	return files
}

// installCRDs creates the CRDs of the files and waits until discovery serves them.
func installCRDs(ctx context.Context, t *testing.T, dyn dynamic.Interface, disc discovery.DiscoveryInterface, files []string) {
	t.Helper()
	crdResource := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	type served struct{ groupVersion, plural string }
	var want []served
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("reading CRD: %v", err)
		}
		crds, err := decodeStream(raw)
		if err != nil {
			t.Fatalf("CRD file %s: %v", f, err)
		}
		for _, crd := range crds {
			u := &unstructured.Unstructured{Object: crd}
			if _, err := dyn.Resource(crdResource).Create(ctx, u, metav1.CreateOptions{}); err != nil {
				t.Fatalf("creating CRD %s: %v", u.GetName(), err)
			}
			group, _, _ := unstructured.NestedString(crd, "spec", "group")
			plural, _, _ := unstructured.NestedString(crd, "spec", "names", "plural")
			versions, _, _ := unstructured.NestedSlice(crd, "spec", "versions")
			for _, v := range versions {
				if vm, ok := v.(map[string]any); ok && vm["served"] == true {
					want = append(want, served{group + "/" + fmt.Sprint(vm["name"]), plural})
				}
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, dryRunWaitLimit)
	defer cancel()
	for _, w := range want {
		var last error
		err := wait.PollUntilContextCancel(wctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
			list, err := disc.ServerResourcesForGroupVersion(w.groupVersion)
			last = err
			return err == nil && slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == w.plural }), nil
		})
		if err != nil {
			t.Fatalf("CRD %s in %s not served within %s: %v (last answer: %v)", w.plural, w.groupVersion, dryRunWaitLimit, err, last)
		}
	}
}

// ensureNamespaces creates, for real, every namespace the objects live in that
// does not exist yet (a dry-run create in a missing namespace is refused), as the
// objects define it when they do.
func ensureNamespaces(ctx context.Context, t *testing.T, dyn dynamic.Interface, mapper meta.RESTMapper, objs []object) {
	t.Helper()
	defined := map[string]object{}
	for _, o := range objs {
		if o["kind"] == "Namespace" && o["apiVersion"] == "v1" {
			defined[(&unstructured.Unstructured{Object: o}).GetName()] = o
		}
	}
	nsResource := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	for _, o := range objs {
		ns := (&unstructured.Unstructured{Object: o}).GetNamespace()
		if ns == "" {
			continue
		}
		if _, err := dyn.Resource(nsResource).Get(ctx, ns, metav1.GetOptions{}); err == nil {
			continue
		} else if !apierrors.IsNotFound(err) {
			t.Fatalf("reading namespace %s: %v", ns, err)
		}
		nsObj := defined[ns]
		if nsObj == nil {
			nsObj = object{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}
		}
		if err := apply(ctx, dyn, mapper, nsObj, false); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
}

// apply server-side applies obj, as a dry run or for real.
func apply(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, obj object, dryRun bool) error {
	u := &unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("the API server serves no %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			return fmt.Errorf("%s is namespaced but names no namespace", key(obj))
		}
		ri = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
	} else if u.GetNamespace() != "" {
		return fmt.Errorf("%s is cluster-scoped but names namespace %q", key(obj), u.GetNamespace())
	}
	opts := metav1.ApplyOptions{FieldManager: dryRunFieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Apply(ctx, u.GetName(), u, opts)
	return err
}
