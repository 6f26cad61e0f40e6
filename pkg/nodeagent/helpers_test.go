package nodeagent

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// nodeBuilder makes Node objects for tests.
type nodeBuilder struct{ n *corev1.Node }

func makeNode(name string) nodeBuilder {
	return nodeBuilder{&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}, Annotations: map[string]string{}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64")},
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
			}},
		},
	}}
}

func (b nodeBuilder) withLabels(kv map[string]string) nodeBuilder {
	maps.Copy(b.n.Labels, kv)
	return b
}

func (b nodeBuilder) withAnnotation(k, v string) nodeBuilder {
	b.n.Annotations[k] = v
	return b
}

func (b nodeBuilder) withAllocatable(res string, q string) nodeBuilder {
	b.n.Status.Allocatable[corev1.ResourceName(res)] = resource.MustParse(q)
	return b
}

func (b nodeBuilder) node() *corev1.Node { return b.n.DeepCopy() }

// clientLister reads nodes straight from a client, so a test's passes see
// their own patches without an informer.
type clientLister struct{ client kubernetes.Interface }

var _ corelisters.NodeLister = clientLister{}

func (l clientLister) List(sel labels.Selector) ([]*corev1.Node, error) {
	list, err := l.client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Node, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (l clientLister) Get(name string) (*corev1.Node, error) {
	return l.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
}

// Card descriptions for mock servers of mixed machines.
var (
	cfgV100x32 = gpus.Config{Name: "Tesla V100-SXM2-32GB", MemoryMB: 32768}
	cfgV100x16 = gpus.Config{Name: "Tesla V100-PCIE-16GB", MemoryMB: 16384}
	cfgT4      = gpus.Config{Name: "Tesla T4", MemoryMB: 15360}
)

func newMockServer(cards ...gpus.Config) *server.Server {
	return server.NewServerWithGPUs("550.54.15", "12.550.54.15", 12040, cards...)
}

// runtimeFiles makes a directory with a daemon.json holding content and an
// executable nvidia-container-runtime, and returns options pointing at them.
func runtimeFiles(t testing.TB, daemonJSON string) (Options, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "nvidia-container-runtime"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(path, []byte(daemonJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	return Options{
		DockerConfig:       path,
		ContainerdConfig:   filepath.Join(dir, "containerd", "config.toml"), // absent: not detected
		RuntimeSearchPaths: []string{bin},
		ExporterURL:        "http://127.0.0.1:1/metrics", // nothing listens on port 1
		ExporterTimeout:    500 * time.Millisecond,
		DevicePluginDir:    filepath.Join(dir, "device-plugins"),
	}.Default(), path
}

// seedDaemonJSON is the docker configuration of a GPU machine before setup.
const seedDaemonJSON = `{
  "insecure-registries": ["registry.local:5000"],
  "log-driver": "json-file"
}
`
