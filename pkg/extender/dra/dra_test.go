package dra

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func testTyper(t testing.TB) *Typer {
	t.Helper()
	c, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{{Name: "dra", Allocation: catalog.AllocationDRA}}})
	if err != nil {
		t.Fatal(err)
	}
	return NewTyper(c)
}

// makeSlice is a slice as NVIDIA's driver (v0.4.1) publishes it: devices
// gpu-<i> with productName and memory; kinds[i] is the "type" attribute.
func makeSlice(node, product string, kinds ...string) *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: node + "-gpu.nvidia.com"}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.nvidia.com", Pool: resourcev1.ResourcePool{Name: node, ResourceSliceCount: 1}, NodeName: ptr.To(node)}}
	for i, k := range kinds {
		s.Spec.Devices = append(s.Spec.Devices, resourcev1.Device{
			Name: fmt.Sprintf("gpu-%d", i),
			Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
				"type": {StringValue: ptr.To(k)}, "productName": {StringValue: ptr.To(product)}},
			Capacity: map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"memory": {Value: resource.MustParse("32Gi")}},
		})
	}
	return s
}

func gpus(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "gpu"
	}
	return out
}

func TestDecodeSlice(t *testing.T) {
	ty := testTyper(t)
	got, err := DecodeSlice(makeSlice("n1", "Tesla V100-SXM2-32GB", "gpu", "mig", "gpu"), ty)
	if err != nil {
		t.Fatal(err)
	}
	want := Slice{Node: "n1", Pool: "n1", Devices: []Device{
		{Key: DeviceKey{"gpu.nvidia.com", "n1", "gpu-0"}, Type: "V100", MemoryMiB: 32768},
		{Key: DeviceKey{"gpu.nvidia.com", "n1", "gpu-2"}, Type: "V100", MemoryMiB: 32768},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// A product the catalog does not know, a slice of no node: no cards.
	for _, s := range []*resourcev1.ResourceSlice{makeSlice("n1", "Quadro X", "gpu"), func() *resourcev1.ResourceSlice {
		s := makeSlice("n1", "Tesla T4", "gpu")
		s.Spec.NodeName, s.Spec.AllNodes = nil, ptr.To(true)
		return s
	}()} {
		if got, err := DecodeSlice(s, ty); err != nil || len(got.Devices) != 0 {
			t.Errorf("%v, %v", got, err)
		}
	}
	// The qualified attribute name is read too.
	s := makeSlice("n1", "x", "gpu")
	s.Spec.Devices[0].Attributes = map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
		"gpu.nvidia.com/productName": {StringValue: ptr.To("Tesla T4")}}
	if got, err := DecodeSlice(s, ty); err != nil || len(got.Devices) != 1 || got.Devices[0].Type != "T4" {
		t.Errorf("qualified attribute: %+v, %v", got, err)
	}
	s = makeSlice("n1", "Tesla T4", gpus(resourcev1.ResourceSliceMaxDevices+1)...)
	if _, err := DecodeSlice(s, ty); !errors.Is(err, ErrMalformed) {
		t.Errorf("too many devices: %v", err)
	}
}

func claim(uid string, results ...resourcev1.DeviceRequestAllocationResult) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: uid, UID: types.UID(uid)}}
	if results != nil {
		c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: results}}
	}
	return c
}

func result(pool, dev string) resourcev1.DeviceRequestAllocationResult {
	return resourcev1.DeviceRequestAllocationResult{Request: "gpu", Driver: "gpu.nvidia.com", Pool: pool, Device: dev}
}

func TestDecodeClaim(t *testing.T) {
	got, err := DecodeClaim(claim("a", result("n1", "gpu-1")))
	if err != nil || !reflect.DeepEqual(got, []DeviceKey{{"gpu.nvidia.com", "n1", "gpu-1"}}) {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := DecodeClaim(claim("b")); got != nil || err != nil {
		t.Errorf("unallocated: %v %v", got, err)
	}
	if _, err := DecodeClaim(claim("c", result("", "gpu-1"))); !errors.Is(err, ErrMalformed) {
		t.Errorf("no pool: %v", err)
	}
}

func usedOf(t *testing.T, v *View, node string) []int64 {
	t.Helper()
	out := make([]*cache.NodeSnapshot, 1)
	v.Snapshots([]string{node}, out)
	if out[0] == nil {
		return nil
	}
	var used []int64
	for _, c := range out[0].Node().Cards {
		used = append(used, c.UsedMilli)
	}
	return used
}

func TestView(t *testing.T) {
	v := NewView(testTyper(t), klog.Background())
	v.SetSlice(makeSlice("n1", "Tesla V100-SXM2-32GB", gpus(12)...))
	v.SetClaim(claim("a", result("n1", "gpu-10"), result("n1", "gpu-2")))
	v.SetClaim(claim("b")) // not allocated yet
	// Devices in natural order: gpu-2 is third, gpu-10 eleventh.
	want := []int64{0, 0, 1000, 0, 0, 0, 0, 0, 0, 0, 1000, 0}
	if got := usedOf(t, v, "n1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("used %v, want %v", got, want)
	}
	v.SetClaim(claim("b", result("n1", "gpu-2")))
	if held := v.Held(); held[DeviceKey{"gpu.nvidia.com", "n1", "gpu-2"}] != 2 {
		t.Errorf("held %v", held)
	}
	v.DeleteClaim("a")
	v.DeleteClaim("b")
	if got := usedOf(t, v, "n1"); !reflect.DeepEqual(got, make([]int64, 12)) {
		t.Errorf("after the claims went: %v", got)
	}
	if got := usedOf(t, v, "n2"); got != nil {
		t.Errorf("unknown node: %v", got)
	}
	v.DeleteSlice("n1-gpu.nvidia.com")
	if got := usedOf(t, v, "n1"); got != nil {
		t.Errorf("after the slice went: %v", got)
	}
}

func TestRequest(t *testing.T) {
	pod := func(applied string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{api.AnnotationApplied: applied}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}},
				ResourceClaims: []corev1.PodResourceClaim{{Name: api.ClaimName, ResourceClaimTemplateName: ptr.To("gpuplane-x")}}}}
	}
	r, ok, err := Request(pod("2(V100|A100)"))
	if !ok || err != nil || len(r.Parts) != 1 {
		t.Fatalf("%+v %v %v", r, ok, err)
	}
	if p := r.Parts[0].Req; p.Cards != 2 || p.Milli != placement.MilliPerCard || !reflect.DeepEqual(p.Types, []string{"V100", "A100"}) {
		t.Errorf("part %+v", p)
	}
	if _, ok, _ := Request(&corev1.Pod{}); ok {
		t.Error("a pod without the claim is in the DRA form")
	}
	for _, bad := range []string{"0.5(V100)", "1(VGPU)", "", "2(V100"} {
		if _, ok, err := Request(pod(bad)); !ok || !errors.Is(err, ErrRequest) {
			t.Errorf("%q: %v %v", bad, ok, err)
		}
	}
}

func TestCompareNatural(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"gpu-2", "gpu-10", -1}, {"gpu-10", "gpu-2", 1}, {"gpu-1", "gpu-1", 0}, {"a", "b", -1}, {"gpu-01", "gpu-1", 0}, {"x1y", "x1", 1}} {
		if got := compareNatural(tc.a, tc.b); (got > 0) != (tc.want > 0) || (got < 0) != (tc.want < 0) {
			t.Errorf("compareNatural(%q, %q) = %d", tc.a, tc.b, got)
		}
	}
}

// FuzzDecodeSlice: whatever a slice holds, decoding never panics, keeps at
// most the devices the API allows with non-empty keys of the slice's driver
// and pool, and the view builds a valid placement node of them.
func FuzzDecodeSlice(f *testing.F) {
	for _, s := range []*resourcev1.ResourceSlice{makeSlice("n1", "Tesla V100-SXM2-32GB", "gpu", "mig"), makeSlice("n", "NVIDIA A100-SXM4-80GB", "gpu")} {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Add([]byte(`{"spec":{"driver":"d","pool":{"name":"p"},"nodeName":"n","devices":[{"name":"a","attributes":{"productName":{"string":"Tesla T4"}},"capacity":{"memory":{"value":"-1"}}}]}}`))
	ty := testTyper(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var s resourcev1.ResourceSlice
		if json.Unmarshal(data, &s) != nil {
			return
		}
		d, err := DecodeSlice(&s, ty)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(d.Devices) > maxDevices {
			t.Fatalf("%d devices", len(d.Devices))
		}
		for _, dev := range d.Devices {
			if dev.Key.Driver != s.Spec.Driver || dev.Key.Pool != s.Spec.Pool.Name || dev.Type == "" || dev.MemoryMiB < 0 {
				t.Fatalf("device %+v", dev)
			}
		}
		v := NewView(ty, klog.Background())
		s.Name = "s"
		v.SetSlice(&s)
		out := make([]*cache.NodeSnapshot, 1)
		v.Snapshots([]string{d.Node}, out)
		if out[0] != nil {
			if err := out[0].Node().Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzDecodeClaim: whatever a claim holds, decoding never panics, and what it
// returns names every device in full and counts in the view until deleted.
func FuzzDecodeClaim(f *testing.F) {
	b, _ := json.Marshal(claim("a", result("n1", "gpu-1"), result("n1", "gpu-2")))
	f.Add(b)
	f.Add([]byte(`{"metadata":{"uid":"u"},"status":{"allocation":{"devices":{"results":[{"driver":"d","pool":"","device":"x"}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c resourcev1.ResourceClaim
		if json.Unmarshal(data, &c) != nil {
			return
		}
		keys, err := DecodeClaim(&c)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "claim") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(keys) > resourcev1.AllocationResultsMaxSize {
			t.Fatalf("%d keys", len(keys))
		}
		v := NewView(testTyper(t), klog.Background())
		v.SetClaim(&c)
		for _, k := range keys {
			if k.Driver == "" || k.Pool == "" || k.Device == "" || v.Held()[k] == 0 {
				t.Fatalf("key %+v", k)
			}
		}
		v.DeleteClaim(c.UID)
		if len(v.Held()) != 0 {
			t.Fatalf("held after delete: %v", v.Held())
		}
	})
}
