package cache

import (
	"reflect"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

func TestNodeTransform(t *testing.T) {
	cases := []struct {
		name string
		node *corev1.Node
	}{
		{"whole cards from the devices annotation", extendertest.MakeNode("w").Whole(4, "V100").Obj()},
		{"vGPU cards", extendertest.MakeNode("v").VGPUCards(2, "T4").Obj()},
		{"cards from capacity and the type label", extendertest.MakeNode("c").Whole(2, "T4").NoDevices().Obj()},
		{"unreadable devices annotation", extendertest.MakeNode("bad").Whole(2, "T4").Annotate("gpuplane.io/devices", "{").Obj()},
		{"no GPU", extendertest.MakeNode("cpu").Obj()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestState(t)
			tc.node.ResourceVersion = "7"
			tc.node.Status.Images = []corev1.ContainerImage{{Names: []string{"big/image"}}}
			out, err := nodeTransform(s)(tc.node)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := out.(*cachedNode)
			if !ok {
				t.Fatalf("node cached as %T", out)
			}
			if again, _ := nodeTransform(s)(c); again != c {
				t.Error("transforming the summary again changed it")
			}
			wantMeta := &metav1.ObjectMeta{Name: tc.node.Name, UID: tc.node.UID, ResourceVersion: "7"}
			if got := c.GetObjectMeta(); !reflect.DeepEqual(got, wantMeta) {
				t.Errorf("meta %+v, want %+v", got, wantMeta)
			}
			if key, err := toolscache.MetaNamespaceKeyFunc(c); err != nil || key != tc.node.Name {
				t.Errorf("cache key %q (%v)", key, err)
			}
			if want := nodeInfoFrom(tc.node, testVoc); !reflect.DeepEqual(c.info, want) {
				t.Errorf("info %+v, want %+v", c.info, want)
			}
			if cp := c.DeepCopyObject().(*cachedNode); !reflect.DeepEqual(cp, c) || cp.info != c.info {
				t.Error("the copy differs or does not share the immutable info")
			}
		})
	}
}

// TestNodeHandlers drives the node handlers with summaries: a heartbeat
// that changes nothing keeps the snapshot, a change rebuilds it, and a
// deletion seen late carries the summary.
func TestNodeHandlers(t *testing.T) {
	s, _ := newTestState(t)
	h, transform := nodeHandlers(s), nodeTransform(s)
	summary := func(n *corev1.Node) any {
		out, err := transform(n)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	h.OnAdd(summary(extendertest.MakeNode("w").Whole(4, "V100").Obj()), false)
	s.SetPod(extendertest.MakePod("a").GPUs(1).On("w").Obj())
	first := s.Snapshot("w")
	if got := used(t, s, "w"); !reflect.DeepEqual(got, []int64{1000, 0, 0, 0}) {
		t.Fatalf("used %v", got)
	}

	beat := extendertest.MakeNode("w").Whole(4, "V100").Obj()
	beat.Labels["unrelated"] = "x"
	h.OnUpdate(nil, summary(beat))
	if s.Snapshot("w") != first {
		t.Error("an update that changes no card rebuilt the snapshot")
	}

	grown := extendertest.MakeNode("w").Whole(4, "V100").Obj()
	grown.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("128")
	h.OnUpdate(nil, summary(grown))
	if snap := s.Snapshot("w"); snap == first || snap.node.CPUMilli != 128000 {
		t.Errorf("a node with more CPU kept its old snapshot (%d CPU milli)", snap.node.CPUMilli)
	}
	if got := s.Sizes(); got.Nodes != 1 || got.Cards != 4 {
		t.Errorf("sizes %+v", got)
	}

	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "w", Obj: summary(grown)})
	if got := s.Sizes(); got.Nodes != 0 || got.Cards != 0 || got.BoundPods != 1 {
		t.Errorf("sizes %+v after the deletion: the pod's record stays until it goes", got)
	}
}
