package cache

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func TestInformersFeedTheState(t *testing.T) {
	client := fake.NewClientset(
		extendertest.MakeNode("w").Whole(4, "V100").Obj(),
		extendertest.MakeNode("v").VGPUCards(2, "T4").Obj(),
		extendertest.MakePod("a").GPUs(2).On("w").Obj(),
	)
	state, clk := newTestState(t)
	var observed []string
	inf, err := NewInformers(client, state, NewSightings(func(r *placement.Request) { observed = append(observed, r.String()) }, clk))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inf.Run(ctx)
	if !inf.WaitForSync(ctx) || !inf.Synced() {
		t.Fatal("informers did not sync")
	}
	waitUsed := func(node string, want []int64) {
		t.Helper()
		var got []int64 // nil while the node is unknown
		err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			snap := state.Snapshot(node)
			if snap == nil {
				return false, nil
			}
			got = make([]int64, len(snap.node.Cards))
			for i, c := range snap.node.Cards {
				got[i] = c.UsedMilli
			}
			return reflect.DeepEqual(got, want), nil
		})
		if err != nil {
			t.Fatalf("%s used %v (nil: unknown), want %v: %v", node, got, want, err)
		}
	}
	waitUsed("w", []int64{1000, 1000, 0, 0})

	share := extendertest.MakePod("s").VGPU(0, 40, 0).Assigned("v", api.CardShare{Index: 1, Cores: 40}).Obj()
	share.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{big}"
	if _, err := client.CoreV1().Pods("default").Create(ctx, share, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed("v", []int64{0, 400})
	cached, err := inf.Pod(ctx, "default", "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cached.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		t.Error("the cache keeps annotations the extender never reads")
	}
	if err := client.CoreV1().Pods("default").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed("w", []int64{0, 0, 0, 0})
	if err := client.CoreV1().Nodes().Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return state.Snapshot("w") == nil, nil
	}); err != nil {
		t.Fatalf("deleted node still known: %v", err)
	}
	if _, err := inf.Pod(ctx, "default", "nope"); err == nil {
		t.Fatal("found a pod that does not exist")
	}
	if want := []string{"2", "0.4"}; !reflect.DeepEqual(observed, want) {
		t.Errorf("learner saw %q, want %q", observed, want)
	}
}

// TestTrimKeepsWhatTranslateReads: the cache's trimmed pods translate and
// book exactly like the full ones.
func TestTrimKeepsWhatTranslateReads(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	full := extendertest.MakePod("p").GPUs(2).Types("V100", "T4").Request(0, corev1.ResourceCPU, "3").VGPU(1, 30, 8).Obj()
	full.Spec.NodeSelector = map[string]string{"gpu-type": "V100"}
	full.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: &always,
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
	full.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
	full.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("6")}}
	full.Spec.Containers[0].Image = "big/image"
	full.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", Value: "y"}}
	full.Spec.NodeName = "w"
	full.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady}}
	full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	trimmed := trimPod(full)
	a, errA := request.Of(full, testVoc)
	b, errB := request.Of(trimmed, testVoc)
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("full %+v (%v), trimmed %+v (%v)", a, errA, b, errB)
	}
	if !recordOf(full, testVoc).sameAllocation(recordOf(trimmed, testVoc)) {
		t.Fatal("trimmed pod books differently")
	}
	if trimmed.ManagedFields != nil || trimmed.Spec.Containers[0].Image != "" || trimmed.Status.Conditions != nil {
		t.Fatal("trim kept what the extender never reads")
	}
	node := extendertest.MakeNode("w").Whole(2, "T4").Obj()
	node.Status.Images = []corev1.ContainerImage{{Names: []string{"x"}}}
	s, _ := newTestState(t)
	if tn, err := nodeTransform(s)(node); err != nil || !reflect.DeepEqual(tn.(*cachedNode).info, nodeInfoFrom(node, testVoc)) {
		t.Fatal("the cached node reads differently")
	}
}

// TestInformersPending: Pending lists the pods that wait for a node, not
// the bound ones nor one being deleted, and follows a pod that binds.
func TestInformersPending(t *testing.T) {
	leaving := extendertest.MakePod("leaving").GPUs(1).Obj()
	leaving.DeletionTimestamp = &metav1.Time{Time: extendertest.Epoch}
	leaving.Finalizers = []string{"example.com/hold"}
	client := fake.NewClientset(
		leaving,
		extendertest.MakeNode("w").Whole(4, "V100").Obj(),
		extendertest.MakePod("bound").GPUs(2).On("w").Obj(),
		extendertest.MakePod("waits").GPUs(8).Obj(),
		extendertest.MakePod("web").Obj(),
	)
	state, _ := newTestState(t)
	inf, err := NewInformers(client, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inf.Run(ctx)
	if !inf.WaitForSync(ctx) {
		t.Fatal("informers did not sync")
	}
	pending := func() []string {
		var names []string
		for _, p := range inf.Pending() {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		return names
	}
	if got, want := pending(), []string{"waits", "web"}; !slices.Equal(got, want) {
		t.Errorf("Pending() = %q, want %q", got, want)
	}
	p, err := client.CoreV1().Pods("default").Get(ctx, "waits", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.NodeName = "w"
	if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		got = pending()
		return slices.Equal(got, []string{"web"}), nil
	}); err != nil {
		t.Errorf("after waits bound Pending() = %q, want [web]: %v", got, err)
	}
}
