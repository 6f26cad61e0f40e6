//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/cmd/webhook/app"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// shCatalog has a pool of HAMi A100s, one of MIG A30s and H100s, one of
// time-sliced T4s, and no default pool: a T4 share can only be time-sliced.
const shCatalog = `apiVersion: gpuplane.io/v1alpha1
kind: GPUCatalog
pools:
  - name: hami
    types: [A100]
    sharing: hami
  - name: mig
    types: [A30, H100]
    sharing: mig
  - name: ts
    types: [T4]
    sharing: timeslice
    timeslice:
      replicas: 4
`

// TestSharingBackends admits requests through the real webhook, with the
// catalog above, on a control plane whose nodes carry what each backend's
// device plugin publishes, and checks what the API server stores, where
// kube-scheduler binds the MIG and time-slice pods (a node of the same type
// outside the pools draws none), and the refusal of memory on time-slicing.
func TestSharingBackends(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	root := repoRoot(t)
	catFile := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(catFile, []byte(shCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, client, whNamespace)
	ns := createNamespace(ctx, t, client, "e2e-sharing")
	whRegister(ctx, t, client, root, whNowhere(t))
	url, _ := whStartWith(t, c.KubeconfigPath(), func(cfg *app.Config) { cfg.Catalog = catFile })
	whPoint(ctx, t, client, url)
	whWaitServing(ctx, t, client, ns)
	shAddNodes(ctx, t, c)
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{}); err != nil {
		t.Fatal(err)
	}

	pool := func(name, sharing string) []corev1.NodeSelectorRequirement {
		return []corev1.NodeSelectorRequirement{whIn(catalog.SharingLabel, sharing), whIn(catalog.PoolLabel, name)}
	}
	cases := []struct {
		gpu       string
		resources corev1.ResourceList
		required  []corev1.NodeSelectorRequirement
		node      string // where kube-scheduler binds it; "" when not checked
	}{
		{"0.5(A100)", whList("nvidia.com/gpu", "1", "nvidia.com/gpumem", "40960", "nvidia.com/gpucores", "50"),
			append(pool("hami", "hami"), whIn("gpu-type", "A100")), ""},
		{"1(VGPU)", whList("nvidia.com/gpu", "1", "nvidia.com/gpumem-percentage", "100", "nvidia.com/gpucores", "100"),
			append(pool("hami", "hami"), whIn("gpu-type", "A100")), ""},
		{"0.5(A30)", whList("nvidia.com/mig-2g.12gb", "1"), append(pool("mig", "mig"), whIn("gpu-type", "A30")), "mig-a30"},
		{"1(A30,mig-1g.6gb)", whList("nvidia.com/mig-1g.6gb", "1"), append(pool("mig", "mig"), whIn("gpu-type", "A30")), "mig-a30"},
		{"1(mig-3g.40gb)", whList("nvidia.com/mig-3g.40gb", "1"), pool("mig", "mig"), "mig-h100"},
		{"0.25(T4)", whList("nvidia.com/gpu.shared", "1"), append(pool("ts", "timeslice"), whIn("gpu-type", "T4")), "ts-t4"},
	}
	for i, tc := range cases {
		t.Run(tc.gpu, func(t *testing.T) {
			// Several pods of each, so that a pod free to land on the decoy
			// nodes would, for kube-scheduler spreads them.
			for j := range 3 {
				created, err := client.CoreV1().Pods(ns).Create(ctx, whPod(fmt.Sprintf("p%d-%d", i, j), tc.gpu, nil), metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("creating a pod with %q: %v", tc.gpu, err)
				}
				got := created.Spec.Containers[0].Resources
				if !equality.Semantic.DeepEqual(got.Limits, tc.resources) || !equality.Semantic.DeepEqual(got.Requests, tc.resources) {
					t.Errorf("resources %v / %v, want %v", got.Limits, got.Requests, tc.resources)
				}
				whCheckAffinity(t, created.Spec.Affinity, [][]corev1.NodeSelectorRequirement{tc.required}, nil)
				if tc.node != "" {
					if node := waitBound(ctx, t, client, created); node != tc.node {
						t.Errorf("pod %s bound to %s, want %s", created.Name, node, tc.node)
					}
				}
			}
		})
	}
	t.Run("memory on time-slicing", func(t *testing.T) {
		_, err := client.CoreV1().Pods(ns).Create(ctx, whPod("ts-mem", "0.25(T4,4Gi)", nil), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("0.25(T4,4Gi) admitted on a time-slice-only catalog")
		}
		for _, want := range []string{`admission webhook "pods.gpuplane.io" denied the request`, strconv.Quote("0.25(T4,4Gi)"),
			"time-slicing, which does not isolate memory", "write 0.25(T4) for a time-sliced share"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not say %q", err, want)
			}
		}
	})
	t.Run("profile a type does not offer", func(t *testing.T) {
		_, err := client.CoreV1().Pods(ns).Create(ctx, whPod("bad-profile", "1(A30,mig-3g.40gb)", nil), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "A30 offers no MIG profile 3g.40gb; A30 profiles: 1g.6gb, 1g.6gb.me, 2g.12gb, 2g.12gb.me, 4g.24gb") {
			t.Fatalf("1(A30,mig-3g.40gb): %v", err)
		}
	})
	t.Run("whole cards do not look at pools", func(t *testing.T) {
		created, err := client.CoreV1().Pods(ns).Create(ctx, whPod("whole", "1(T4)", nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		whCheckAffinity(t, created.Spec.Affinity, [][]corev1.NodeSelectorRequirement{{whIn("gpu", "true"), whIn("gpu-type", "T4")}}, nil)
	})
}

// shAddNodes adds a node per pool with the capacity its backend's device
// plugin publishes, and a decoy of each MIG and time-slice type outside the
// pools with the same capacity.
func shAddNodes(ctx context.Context, t *testing.T, c *cluster.Cluster) {
	t.Helper()
	mig := func(profiles ...string) string {
		d := api.Devices{{Index: 0, UUID: "GPU-0", Type: "A30", Product: "NVIDIA A30", MemoryMiB: 24576,
			MIG: &api.DeviceMIG{Instances: []api.MIGInstance{}}}}
		start := 0
		for i, p := range profiles {
			size := map[string]int{"2g.12gb": 2, "1g.6gb": 1}[p]
			d[0].MIG.Instances = append(d[0].MIG.Instances, api.MIGInstance{Profile: p, UUID: fmt.Sprintf("MIG-%d", i), Start: start, Size: size})
			start += size
		}
		enc, err := api.EncodeDevices(d)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	labels := func(typ, pool, sharing string) map[string]string {
		l := map[string]string{"gpu-type": typ}
		if pool != "" {
			l[catalog.PoolLabel], l[catalog.SharingLabel] = pool, sharing
		}
		return l
	}
	a30 := map[string]string{"nvidia.com/mig-2g.12gb": "8", "nvidia.com/mig-1g.6gb": "8"}
	for _, spec := range []cluster.NodeSpec{
		// HAMi's device plugin publishes each card split count times.
		{Name: "hami-a100", Labels: labels("A100", "hami", "hami"), Capacity: map[string]string{"nvidia.com/gpu": "40"}},
		{Name: "mig-a30", Labels: labels("A30", "mig", "mig"), Capacity: a30,
			Annotations: map[string]string{api.AnnotationDevices: mig("2g.12gb", "1g.6gb", "1g.6gb")}},
		{Name: "mig-h100", Labels: labels("H100", "mig", "mig"), Capacity: map[string]string{"nvidia.com/mig-3g.40gb": "8"}},
		{Name: "decoy-a30", Labels: labels("A30", "", ""), Capacity: a30},
		{Name: "decoy-h100", Labels: labels("H100", "", ""), Capacity: map[string]string{"nvidia.com/mig-3g.40gb": "8"}},
		{Name: "ts-t4", Labels: labels("T4", "ts", "timeslice"), Capacity: map[string]string{"nvidia.com/gpu.shared": "16"}},
		{Name: "decoy-t4", Labels: labels("T4", "", ""), Capacity: map[string]string{"nvidia.com/gpu.shared": "16"}},
	} {
		if _, err := c.AddGPUNode(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
}
