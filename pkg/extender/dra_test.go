package extender

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"k8s.io/utils/ptr"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/dra"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// draSlice publishes n V100s of node as NVIDIA's driver does.
func draSlice(node string, n int) *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: node}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.nvidia.com", Pool: resourcev1.ResourcePool{Name: node, ResourceSliceCount: 1}, NodeName: ptr.To(node)}}
	for i := range n {
		s.Spec.Devices = append(s.Spec.Devices, resourcev1.Device{Name: fmt.Sprintf("gpu-%d", i),
			Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
				"type": {StringValue: ptr.To("gpu")}, "productName": {StringValue: ptr.To("Tesla V100-SXM2-32GB")}},
			Capacity: map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"memory": {Value: resource.MustParse("32Gi")}}})
	}
	return s
}

// draClaimOn is an allocated claim holding devices gpu-<i> of node.
func draClaimOn(uid, node string, devices ...int) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: uid, UID: types.UID(uid)}}
	c.Status.Allocation = &resourcev1.AllocationResult{}
	for _, d := range devices {
		c.Status.Allocation.Devices.Results = append(c.Status.Allocation.Devices.Results, resourcev1.DeviceRequestAllocationResult{
			Request: "gpu", Driver: "gpu.nvidia.com", Pool: node, Device: fmt.Sprintf("gpu-%d", d)})
	}
	return c
}

// draPod is a pod as the webhook writes it for request on a DRA pool.
func draPod(request string) *corev1.Pod {
	p := extendertest.MakePod("p").Obj()
	p.Annotations = map[string]string{api.AnnotationApplied: request}
	p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: api.ClaimName, ResourceClaimTemplateName: ptr.To("gpuplane-x")}}
	p.Spec.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: api.ClaimName}}
	return p
}

// TestDRAPodSteeredLikeDevicePluginPod: a 1(V100) pod of a DRA pool is
// filtered and scored on the devices the slices publish and the claims hold,
// and lands where the same pod of a device-plugin pool would: on the node it
// leaves least fragmented.
func TestDRAPodSteeredLikeDevicePluginPod(t *testing.T) {
	cat, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{{Name: "dra", Allocation: catalog.AllocationDRA}}})
	if err != nil {
		t.Fatal(err)
	}
	view := dra.NewView(dra.NewTyper(cat), extendertest.Logger(t))
	// holes: free cards per node; "full" has none, "one" one, "four" four,
	// "eight" all eight.
	holes := map[string]int{"full": 0, "one": 1, "four": 4, "eight": 8}
	names := []string{"eight", "four", "full", "one"}
	var dpObjs []runtime.Object
	for _, name := range names {
		view.SetSlice(draSlice(name, 8))
		var held []int
		for i := range 8 - holes[name] {
			held = append(held, i)
		}
		if len(held) > 0 {
			view.SetClaim(draClaimOn("claim-"+name, name, held...))
		}
		// The same node and the same load as a device-plugin node.
		dpObjs = append(dpObjs, extendertest.MakeNode("dp-"+name).Whole(8, "V100").Obj())
		if len(held) > 0 {
			dpObjs = append(dpObjs, extendertest.MakePod("dp-holder-"+name).GPUs(len(held)).Types("V100").On("dp-"+name).Obj())
		}
	}
	// Every policy makes the same choice for both pods; binpack and bestfit
	// choose the node left least fragmented.
	for _, policy := range []string{placement.PolicyAuto, placement.PolicyBinpack, placement.PolicyBestFit, placement.PolicySpread} {
		t.Run(policy, func(t *testing.T) {
			h := newHarness(t, harnessOptions{policy: policy, dra: view}, dpObjs...)
			args := &extenderv1.ExtenderArgs{Pod: draPod("1(V100)"), NodeNames: ptr.To(slices.Clone(names))}
			res := h.ext.Filter(h.ctx, args)
			if got := *res.NodeNames; !slices.Equal(got, []string{"eight", "four", "one"}) {
				t.Fatalf("filter kept %v; failed %v %v", got, res.FailedNodes, res.FailedAndUnresolvableNodes)
			}
			if why := res.FailedNodes["full"] + res.FailedAndUnresolvableNodes["full"]; why == "" {
				t.Errorf("no reason for the full node: %+v", res)
			}
			dra := best(h.ext.Prioritize(h.ctx, args))

			dpNames := make([]string, len(names))
			for i, n := range names {
				dpNames[i] = "dp-" + n
			}
			dpPod := extendertest.MakePod("dp").GPUs(1).Types("V100").Obj()
			dp := best(h.ext.Prioritize(h.ctx, &extenderv1.ExtenderArgs{Pod: dpPod, NodeNames: &dpNames}))
			if "dp-"+dra != dp {
				t.Errorf("the DRA pod goes to %s, the device-plugin pod to %s", dra, dp)
			}
			if (policy == placement.PolicyBinpack || policy == placement.PolicyBestFit) && dra != "one" {
				t.Errorf("%s puts the DRA pod on %s, not on the node it leaves least fragmented (one)", policy, dra)
			}
		})
	}
}

func best(l extenderv1.HostPriorityList) string {
	top := l[0]
	for _, h := range l[1:] {
		if h.Score > top.Score {
			top = h
		}
	}
	return top.Host
}
