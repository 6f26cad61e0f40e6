package extendertest

import (
	"fmt"
	"math/rand/v2"

	"github.com/gpuplane/gpuplane/pkg/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Cluster returns nodes of 8 cards, half whole V100 and half vGPU T4,
// and podsPerNode bound pods on each, drawn at random so that nodes differ
// as in a real cluster: on the V100s 0..6 pods of one whole card and the
// rest without GPU; on the T4s shares of 10..50% on random cards (a pod
// without GPU where the card drawn is full). The pods are as the API server
// holds them (image, env, labels and all).
func Cluster(nodes, podsPerNode int) ([]*corev1.Node, []*corev1.Pod) {
	rng := rand.New(rand.NewPCG(11, 12))
	sizes := []int{10, 20, 25, 30, 50}
	ns := make([]*corev1.Node, nodes)
	var ps []*corev1.Pod
	for i := range ns {
		name := fmt.Sprintf("node-%05d", i)
		vgpu := i%2 == 1
		if vgpu {
			ns[i] = MakeNode(name).VGPUCards(8, "T4").Obj()
		} else {
			ns[i] = MakeNode(name).Whole(8, "V100").Obj()
		}
		wholePods := rng.IntN(7)
		var cores [8]int
		for j := range podsPerNode {
			var p *corev1.Pod
			pb := MakePod(fmt.Sprintf("p-%05d-%02d", i, j))
			switch {
			case vgpu:
				card, size := rng.IntN(8), sizes[rng.IntN(len(sizes))]
				if cores[card]+size > 100 {
					p = pb.On(name).Obj()
					break
				}
				cores[card] += size
				p = pb.VGPU(0, size, size*64/100).Types("T4").
					Assigned(name, api.CardShare{Index: card, Cores: size, MemoryMiB: int64(size*64/100) * 256}).Obj()
			case j < wholePods:
				p = pb.GPUs(1).Types("V100").On(name).Obj()
			default:
				p = pb.On(name).Obj()
			}
			c := &p.Spec.Containers[0]
			c.Image = "registry.example/team/train:v1.2.3"
			c.Command = []string{"python", "-m", "train", "--epochs=100"}
			c.Env = []corev1.EnvVar{{Name: "DATA", Value: "/data/set-a"}, {Name: "LOG_LEVEL", Value: "info"}}
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")}
			p.Labels = map[string]string{"app": "train", "team": "vision", "job": fmt.Sprintf("job-%d", i)}
			pb.Annotate(api.AnnotationApplied, "1(V100)")
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			ps = append(ps, p)
		}
	}
	return ns, ps
}
