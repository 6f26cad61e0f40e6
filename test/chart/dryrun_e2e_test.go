//go:build e2e

package chart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// The CRDs the chart's objects use, from the modules hack/crds/go.mod pins (`make
// crds` fetches them into the module cache), as test/e2e's deploy tests install them.
var crdSources = []cluster.CRDSource{
	{Module: "github.com/prometheus-operator/prometheus-operator", File: "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"},
	{Module: "github.com/cert-manager/cert-manager", File: "deploy/crds/cert-manager.io_certificates.yaml"},
	{Module: "github.com/cert-manager/cert-manager", File: "deploy/crds/cert-manager.io_issuers.yaml"},
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
	crdCtx, cancel := context.WithTimeout(ctx, dryRunWaitLimit)
	defer cancel()
	if err := c.InstallCRDs(crdCtx, crdFiles); err != nil {
		t.Fatal(err)
	}
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
	files, err := cluster.CRDFiles(root, crdSources)
	if errors.Is(err, cluster.ErrCRDsMissing) && os.Getenv(cluster.EnvSkipMissing) == "1" {
		t.Skipf("%v (%s=1)", err, cluster.EnvSkipMissing)
	} else if err != nil {
		t.Fatal(err)
	}
	return files
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
