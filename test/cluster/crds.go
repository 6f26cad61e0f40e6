package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// ErrCRDsMissing marks a CRD module that is not in the module cache: `make crds`
// fetches the modules hack/crds/go.mod pins.
var ErrCRDsMissing = errors.New("CRD module not in the module cache")

// CRDSource is a file of CRDs inside a module that hack/crds/go.mod pins.
type CRDSource struct {
	Module string // the module path
	File   string // the file, relative to the module's root, with forward slashes
}

// CRDFiles returns the paths of the sources' files in the module cache, found by
// `go mod download -json` in root's hack/crds without going to the network. A
// module that is not there is an error wrapping ErrCRDsMissing.
func CRDFiles(root string, sources []CRDSource) ([]string, error) {
	var modules []string
	for _, s := range sources {
		if !slices.Contains(modules, s.Module) {
			modules = append(modules, s.Module)
		}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("finding the go command to locate the CRD modules: %w", err)
	}
	cmd := exec.Command(goTool, append([]string{"mod", "download", "-json"}, modules...)...)
	cmd.Dir = filepath.Join(root, "hack", "crds")
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=readonly")
	// go mod download exits non-zero when a module is missing and still
	// writes what it found; the missing module is reported below.
	out, goErr := cmd.Output()
	dirs := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct{ Path, Dir, Error string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading `go mod download -json` in hack/crds: %w", err)
		}
		if m.Error == "" && m.Dir != "" {
			dirs[m.Path] = m.Dir
		}
	}
	files := make([]string, 0, len(sources))
	for _, s := range sources {
		dir, ok := dirs[s.Module]
		if !ok {
			return nil, fmt.Errorf("%w: module %s (pinned in hack/crds/go.mod); `make crds` fetches it (go: %v)", ErrCRDsMissing, s.Module, goErr)
		}
		files = append(files, filepath.Join(dir, filepath.FromSlash(s.File)))
	}
	return files, nil
}

// InstallCRDs creates the CRDs in files and waits until discovery serves every
// version they serve; ctx bounds the wait.
func (c *Cluster) InstallCRDs(ctx context.Context, files []string) error {
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		return err
	}
	crdResource := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	type served struct{ groupVersion, plural string }
	var want []served
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading CRDs: %w", err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
		for {
			var crd map[string]any
			if err := dec.Decode(&crd); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("CRD file %s: %w", f, err)
			}
			if len(crd) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: crd}
			if _, err := dyn.Resource(crdResource).Create(ctx, u, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating CRD %s: %w", u.GetName(), err)
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
	disc := c.Client().Discovery()
	for _, w := range want {
		var last error
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
			list, err := disc.ServerResourcesForGroupVersion(w.groupVersion)
			last = err
			return err == nil && slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == w.plural }), nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s in %s not served: %w (last answer: %v)", w.plural, w.groupVersion, err, last)
		}
	}
	return nil
}
