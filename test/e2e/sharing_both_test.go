//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/cmd/webhook/app"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// bothCatalog serves A100 shares and virtual cards through HAMi.
const bothCatalog = `apiVersion: gpuplane.io/v1alpha1
kind: GPUCatalog
pools:
  - name: hami
    types: [A100]
    sharing: hami
  - name: default
`

// TestSharingThroughWebhookAndExtender takes pods annotated 0.5(A100) and
// 1(VGPU) through both halves with one catalog: the real webhook writes
// HAMi's resources and the pool's affinity, kube-scheduler with the shipped
// configuration sends them to the extender, and the extender binds them onto
// a node HAMi's device plugin registered, with exactly the annotations that
// device plugin reads: the share on one card, the virtual card on the other.
func TestSharingThroughWebhookAndExtender(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	catFile := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(catFile, []byte(bothCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	node := hamiNodeOf(t, "hami-a100", "A100", "NVIDIA A100-SXM4-80GB", 81920, 2, 4)
	node.Labels[catalog.PoolLabel] = "hami"
	if _, err := c.AddGPUNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	o := extender.DefaultOptions()
	o.Catalog = catFile
	ext := extStart(t, c, "127.0.0.1:0", o)
	createNamespace(ctx, t, client, whNamespace)
	ns := createNamespace(ctx, t, client, "e2e-sharing-both")
	whRegister(ctx, t, client, repoRoot(t), whNowhere(t))
	url, _ := whStartWith(t, c.KubeconfigPath(), func(cfg *app.Config) {
		cfg.Catalog, cfg.SchedulerName = catFile, extSchedulerName
	})
	whPoint(ctx, t, client, url)
	whWaitServing(ctx, t, client, ns)
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}

	var cards []string
	for _, tc := range []struct {
		name, gpu    string
		memMiB, core int64
	}{
		{"share", "0.5(A100)", 40960, 50},
		// A whole virtual card is written with all of the card's memory.
		{"vgpu", "1(VGPU)", 81920, 100},
	} {
		if _, err := client.CoreV1().Pods(ns).Create(ctx, whPod(tc.name, tc.gpu, nil), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a pod with %q: %v", tc.gpu, err)
		}
		p := sharingBound(ctx, t, client, ns, tc.name)
		if p.Spec.NodeName != "hami-a100" {
			t.Fatalf("%s (%s) on %s, want hami-a100", tc.name, tc.gpu, p.Spec.NodeName)
		}
		var keys []string
		for k := range p.Annotations {
			if strings.HasPrefix(k, "hami.io/") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		want := []string{hami.AnnotationBindPhase, hami.AnnotationBindTime, hami.AnnotationAllocated, hami.AnnotationToAllocate, hami.AnnotationNode, hami.AnnotationTime}
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("%s: HAMi's annotations %q, want %q", tc.name, keys, want)
		}
		if v, ok := p.Annotations[api.AnnotationAssigned]; ok {
			t.Errorf("%s: %s = %q on a HAMi pod; HAMi's annotations are the record", tc.name, api.AnnotationAssigned, v)
		}
		devs := p.Annotations[hami.AnnotationToAllocate]
		pd, err := hami.DecodePodDevices(devs)
		if err != nil || len(pd) != 1 || len(pd[0]) != 1 || pd[0][0].Type != "NVIDIA" || pd[0][0].MemoryMiB != tc.memMiB ||
			int64(pd[0][0].Cores) != tc.core || !strings.HasPrefix(pd[0][0].UUID, "GPU-hami-a100-") {
			t.Fatalf("%s: %s = %q (%+v, %v), want one card of hami-a100 with %d MiB and %d cores",
				tc.name, hami.AnnotationToAllocate, devs, pd, err, tc.memMiB, tc.core)
		}
		for k, want := range map[string]string{hami.AnnotationAllocated: devs, hami.AnnotationNode: "hami-a100", hami.AnnotationBindPhase: hami.BindAllocating} {
			if got := p.Annotations[k]; got != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, got, want)
			}
		}
		cards = append(cards, pd[0][0].UUID)
		// HAMi's device plugin allocates the pod and frees the node lock,
		// so that the next pod can bind.
		allocateAsHAMi(ctx, t, client, "hami-a100", p)
	}
	if cards[0] == cards[1] {
		t.Errorf("the virtual card took card %s, which the share holds", cards[1])
	}
}
