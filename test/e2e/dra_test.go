//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/gpuplane/gpuplane/cmd/webhook/app"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// NVIDIA's DRA driver for GPUs (kubernetes-sigs/dra-driver-nvidia-gpu, release
// v0.4.1): its driver name, and its DeviceClasses as its Helm chart installs them on
// a cluster serving resource.k8s.io/v1.
const draDriver = "gpu.nvidia.com"

func draDeviceClasses() []*resourcev1.DeviceClass {
	return []*resourcev1.DeviceClass{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "gpu.nvidia.com"},
			Spec: resourcev1.DeviceClassSpec{
				Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{
					Expression: "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'gpu'"}}},
				ExtendedResourceName: ptr.To("nvidia.com/gpu"),
			},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "mig.nvidia.com"},
			Spec: resourcev1.DeviceClassSpec{
				Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{
					Expression: "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'mig'"}}},
			},
		},
	}
}

// draNode is a node whose cards the driver publishes.
type draNode struct {
	name, typ, product, arch, cc string
	cards                        int
	memory                       string
}

var draNodes = []draNode{
	{name: "dra-v100", typ: "V100", product: "Tesla V100-SXM2-32GB", arch: "Volta", cc: "7.0.0", cards: 8, memory: "32Gi"},
	{name: "dra-a100", typ: "A100", product: "NVIDIA A100-SXM4-80GB", arch: "Ampere", cc: "8.0.0", cards: 4, memory: "80Gi"},
}

// slice is the ResourceSlice the driver publishes for the node: one pool named after
// the node, each card a device gpu-<minor> with the attributes and the memory
// capacity the driver's release v0.4.1 writes.
func (n draNode) slice() *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: n.name + "-" + draDriver},
		Spec: resourcev1.ResourceSliceSpec{
			Driver:   draDriver,
			Pool:     resourcev1.ResourcePool{Name: n.name, Generation: 1, ResourceSliceCount: 1},
			NodeName: ptr.To(n.name),
		},
	}
	for i := range n.cards {
		s.Spec.Devices = append(s.Spec.Devices, resourcev1.Device{
			Name: fmt.Sprintf("gpu-%d", i),
			Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
				"type":                  {StringValue: ptr.To("gpu")},
				"uuid":                  {StringValue: ptr.To(fmt.Sprintf("GPU-%s-%08d", strings.ToLower(n.typ), i))},
				"productName":           {StringValue: ptr.To(n.product)},
				"brand":                 {StringValue: ptr.To("Tesla")},
				"architecture":          {StringValue: ptr.To(n.arch)},
				"cudaComputeCapability": {VersionValue: ptr.To(n.cc)},
				"driverVersion":         {VersionValue: ptr.To("550.54.15")},
				"cudaDriverVersion":     {VersionValue: ptr.To("12.4.0")},
			},
			Capacity: map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{
				"memory": {Value: resource.MustParse(n.memory)},
			},
		})
	}
	return s
}

// draCatalog is a catalog whose V100 and A100 nodes are a DRA pool.
const draCatalog = `apiVersion: gpuplane.io/v1alpha1
kind: GPUCatalog
pools:
  - name: dra
    types: [V100, A100]
    allocation: dra
  - name: default
`

// draSetUp starts a control plane with kube-scheduler and the controllers DRA needs,
// the webhook with a catalog whose V100 and A100 nodes allocate by DRA (under its
// ServiceAccount with the rights of deploy/overlays/dra), NVIDIA's
// DeviceClasses, and two nodes whose cards are published as the driver would.
func draSetUp(t *testing.T) (*cluster.Cluster, kubernetes.Interface, string) {
	t.Helper()
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	if err := c.StartControllerManager(ctx, cluster.ControllerManagerOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, dc := range draDeviceClasses() {
		if _, err := client.ResourceV1().DeviceClasses().Create(ctx, dc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating DeviceClass %s: %v", dc.Name, err)
		}
	}
	for _, n := range draNodes {
		if _, err := c.AddGPUNode(ctx, cluster.NodeSpec{Name: n.name, Labels: map[string]string{
			"gpu": "true", "gpu-type": n.typ, "gpuplane.io/pool": "dra"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.ResourceV1().ResourceSlices().Create(ctx, n.slice(), metav1.CreateOptions{}); err != nil {
			t.Fatalf("publishing the slice of %s: %v", n.name, err)
		}
	}

	catFile := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(catFile, []byte(draCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	// The webhook runs with its ServiceAccount's token, holding only the rights
	// deploy/overlays/dra grants it: its template keeper must manage with those.
	root := repoRoot(t)
	secApplyRBAC(ctx, t, c, deployRender(t, deployKustomize(t), root, "deploy/overlays/dra"))
	_, kubeconfig := secWebhookAccount(ctx, t, c)
	ns := createNamespace(ctx, t, client, "e2e-dra")
	whRegister(ctx, t, client, root, whNowhere(t))
	// This kube-scheduler is the default one, without gpuplane's configuration
	// and extender: the webhook gives no marker resource, which only that
	// configuration names (TestDRAExtenderSteersInScheduler runs with both).
	url, _ := whStartWith(t, kubeconfig, func(cfg *app.Config) {
		cfg.Catalog = catFile
		cfg.PlacementResource = ""
	})
	whPoint(ctx, t, client, url)
	whWaitServing(ctx, t, client, ns)
	return c, client, ns
}

// draAllocation waits until the pod's claim is allocated and returns it.
func draAllocation(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, pod string) *resourcev1.ResourceClaim {
	t.Helper()
	var claim *resourcev1.ResourceClaim
	var why string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		name := ""
		for _, s := range p.Status.ResourceClaimStatuses {
			if s.ResourceClaimName != nil {
				name = *s.ResourceClaimName
			}
		}
		if e := p.Status.ExtendedResourceClaimStatus; e != nil {
			name = e.ResourceClaimName
		}
		if name == "" {
			why = fmt.Sprintf("pod has no claim yet; conditions %+v", p.Status.Conditions)
			return false, nil
		}
		claim, err = client.ResourceV1().ResourceClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			why = "claim " + name + " not found"
			return false, nil
		}
		if err != nil {
			return false, err
		}
		why = fmt.Sprintf("claim %s not allocated; pod conditions %+v", name, p.Status.Conditions)
		return claim.Status.Allocation != nil && p.Spec.NodeName != "", nil
	})
	if err != nil {
		t.Fatalf("pod %s: no allocated claim within %s: %v; %s", pod, scheduleLimit, err, why)
	}
	return claim
}

// draDevices lists an allocated claim's devices as pool/device, with the request
// each answers.
func draDevices(claim *resourcev1.ResourceClaim) (devices []string, requests []string) {
	for _, r := range claim.Status.Allocation.Devices.Results {
		devices = append(devices, r.Pool+"/"+r.Device)
		requests = append(requests, r.Request)
	}
	sort.Strings(devices)
	return devices, requests
}

// draCreate creates a pod asking request through the webhook.
func draCreate(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name, request string) (*corev1.Pod, error) {
	t.Helper()
	return client.CoreV1().Pods(ns).Create(ctx, whPod(name, request, nil), metav1.CreateOptions{})
}

// draCount counts the claims and the templates of the namespace.
func draCount(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) (claims, templates int) {
	t.Helper()
	cl, err := client.ResourceV1().ResourceClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := client.ResourceV1().ResourceClaimTemplates(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(cl.Items), len(tl.Items)
}

// TestDRA runs requests in the DRA form on the real control plane: the webhook turns
// them into claims made from templates gpuplane keeps, kube-scheduler allocates the
// devices the driver published, the claims end on the right cards; a refused request
// and deleted pods leave no claim and no template behind.
func TestDRA(t *testing.T) {
	_, client, ns := draSetUp(t)
	ctx := t.Context()

	t.Run("refused", func(t *testing.T) {
		// A share goes to the default pool (gpu-manager), not to the DRA one;
		// these are what a DRA pool cannot serve.
		for i, req := range []string{"33(V100)", "1(V100|A100|T4|H100|H200|L4|L40S|A10|A30)"} {
			_, err := draCreate(ctx, t, client, ns, fmt.Sprintf("refused-%d", i), req)
			if err == nil || !strings.Contains(err.Error(), "not possible") {
				t.Errorf("%s: admitted or refused for another reason: %v", req, err)
			}
		}
		if claims, templates := draCount(ctx, t, client, ns); claims+templates != 0 {
			t.Errorf("refused requests left %d claims and %d templates", claims, templates)
		}
	})

	used := map[string]string{} // pool/device -> pod
	check := func(t *testing.T, pod, request string, wantPool string, wantRequest string, n int) {
		t.Helper()
		began := time.Now()
		if _, err := draCreate(ctx, t, client, ns, pod, request); err != nil {
			t.Fatalf("%s: %v", request, err)
		}
		claim := draAllocation(ctx, t, client, ns, pod)
		t.Logf("%s: pod %s claim %s allocated %s after creation", request, pod, claim.Name, time.Since(began).Round(time.Millisecond))
		devices, requests := draDevices(claim)
		if len(devices) != n {
			t.Fatalf("%s: %d devices %v, want %d", request, len(devices), devices, n)
		}
		for i, d := range devices {
			if !strings.HasPrefix(d, wantPool+"/") || requests[i] != wantRequest {
				t.Errorf("%s: device %s for request %s, want pool %s and request %s", request, d, requests[i], wantPool, wantRequest)
			}
			if prev, ok := used[d]; ok {
				t.Errorf("%s: device %s is also %s's", request, d, prev)
			}
			used[d] = pod
		}
	}
	t.Run("2(V100)", func(t *testing.T) { check(t, "two-v100", "2(V100)", "dra-v100", "gpu", 2) })
	t.Run("6(V100) fills the V100s", func(t *testing.T) { check(t, "six-v100", "6(v100)", "dra-v100", "gpu", 6) })
	t.Run("2(V100|A100) takes A100s", func(t *testing.T) { check(t, "either", "2(V100|A100)", "dra-a100", "gpu/a100", 2) })
	t.Run("1(A100)", func(t *testing.T) { check(t, "one-a100", "1(A100)", "dra-a100", "gpu", 1) })
	if t.Failed() {
		return
	}

	t.Run("templates", func(t *testing.T) {
		tl, err := client.ResourceV1().ResourceClaimTemplates(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tm := range tl.Items {
			names = append(names, tm.Annotations[api.AnnotationRequest])
		}
		slices.Sort(names)
		// One per request shape; "6(v100)" is 6(V100) canonically.
		if want := []string{"1(A100)", "2(V100)", "2(V100|A100)", "6(V100)"}; !slices.Equal(names, want) {
			t.Errorf("templates for %v, want %v", names, want)
		}
	})

	t.Run("deleted pods leave nothing", func(t *testing.T) {
		began := time.Now()
		if err := client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		var claims, templates int
		if err := wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
			claims, templates = draCount(ctx, t, client, ns)
			return claims+templates == 0, nil
		}); err != nil {
			t.Fatalf("%d claims and %d templates left %s after the pods were deleted: %v", claims, templates, scheduleLimit, err)
		}
		t.Logf("claims and templates gone %s after the pods were deleted", time.Since(began).Round(time.Millisecond))
	})
}

// TestDRAExtendedResource measures the other form the DRA mode could take: pods
// asking an extended resource that a DeviceClass maps (extendedResourceName), for
// which kube-scheduler makes the claim itself. What it allocates and what it leaves
// behind is logged for docs/dra.md; the test fails only where the control plane
// does not behave as that document says.
func TestDRAExtendedResource(t *testing.T) {
	_, client, ns := draSetUp(t)
	ctx := t.Context()
	// A DeviceClass per type is how this form would name a type.
	v100 := &resourcev1.DeviceClass{
		ObjectMeta: metav1.ObjectMeta{Name: "v100.gpuplane.io"},
		Spec: resourcev1.DeviceClassSpec{
			Selectors: []resourcev1.DeviceSelector{
				{CEL: &resourcev1.CELDeviceSelector{Expression: "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'gpu'"}},
				{CEL: &resourcev1.CELDeviceSelector{Expression: `device.attributes["gpu.nvidia.com"]["productName"].matches("(?i)^TESLA V100.*32GB.*$")`}},
			},
			ExtendedResourceName: ptr.To("gpuplane.io/v100"),
		},
	}
	if _, err := client.ResourceV1().DeviceClasses().Create(ctx, v100, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ pod, resource, pool string }{
		{"any-gpu", "nvidia.com/gpu", ""},
		{"a-v100", "gpuplane.io/v100", "dra-v100"},
	} {
		began := time.Now()
		p := gpuPod(tc.pod, 1)
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceName(tc.resource): resource.MustParse("1")}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		claim := draAllocation(ctx, t, client, ns, tc.pod)
		devices, _ := draDevices(claim)
		t.Logf("%s: 1 %s: claim %s (owner %v) allocated %v %s after creation", tc.pod, tc.resource, claim.Name,
			claim.OwnerReferences, devices, time.Since(began).Round(time.Millisecond))
		if len(devices) != 1 || (tc.pool != "" && !strings.HasPrefix(devices[0], tc.pool+"/")) {
			t.Errorf("%s: devices %v, want one of pool %q", tc.pod, devices, tc.pool)
		}
	}
	began := time.Now()
	if err := client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	var claims int
	if err := wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
		claims, _ = draCount(ctx, t, client, ns)
		return claims == 0, nil
	}); err != nil {
		t.Fatalf("%d claims left %s after the pods were deleted: %v", claims, scheduleLimit, err)
	}
	t.Logf("claims gone %s after the pods were deleted", time.Since(began).Round(time.Millisecond))
}

// TestDRAAdmissionLatency times admission (dry run, so nothing is stored or
// scheduled) of the DRA form and of the device-plugin form through the same webhook.
func TestDRAAdmissionLatency(t *testing.T) {
	_, client, ns := draSetUp(t)
	ctx := t.Context()
	const n = 50
	for _, tc := range []struct{ form, request string }{{"dra", "2(V100|A100)"}, {"device-plugin", "2(T4)"}} {
		var took []time.Duration
		for i := range n {
			pod := whPod(fmt.Sprintf("latency-%d", i), tc.request, nil)
			began := time.Now()
			out, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			took = append(took, time.Since(began))
			if err != nil {
				t.Fatal(err)
			}
			if (tc.form == "dra") != (len(out.Spec.ResourceClaims) == 1) {
				t.Fatalf("%s: not in the %s form: %+v", tc.request, tc.form, out.Spec)
			}
		}
		slices.Sort(took)
		t.Logf("admission of %d %s pods (%s), dry run: median %s, p90 %s", n, tc.form, tc.request,
			took[n/2].Round(10*time.Microsecond), took[n*9/10].Round(10*time.Microsecond))
	}
	if claims, templates := draCount(ctx, t, client, ns); claims+templates != 0 {
		t.Errorf("dry-run admissions left %d claims and %d templates", claims, templates)
	}
}
