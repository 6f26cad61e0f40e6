package perf

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// CardsPerNode is how many cards every simulated node has.
const CardsPerNode = 8

// fleetTypes are the card types of the simulated nodes, in turn.
var fleetTypes = [...]string{"V100", "A100", "T4", "H100"}

// FleetOptions say what cluster to simulate.
type FleetOptions struct {
	// Nodes is the number of nodes, each with CardsPerNode cards.
	Nodes int
	// Pods is the number of running pods spread over them.
	Pods int
	// VGPUEvery makes every VGPUEvery-th node a vGPU node (cards shared
	// through the vGPU manager) instead of a device-plugin node. Default 5.
	VGPUEvery int
	// Seed makes the fleet reproducible.
	Seed uint64
	// SchedulerName is written on the pods. Default "gpuplane".
	SchedulerName string
}

// Fleet is a simulated cluster: Node objects as the node agent and kubelet
// leave them, and running pods as the webhook, the extender and the kubelet
// leave them. Every node's GPU occupancy is drawn between empty and full, so
// that a request fits some nodes and not others; no node is overbooked.
type Fleet struct {
	Nodes []*corev1.Node
	Pods  []*corev1.Pod
	// GPUPods counts the pods holding cards or shares; AllocatedMilli the
	// cards they hold, in thousandths.
	GPUPods        int
	AllocatedMilli int64
}

// fleetNode is the booking of one node while the fleet is built.
type fleetNode struct {
	name    string
	typ     string
	vgpu    bool
	target  int64 // milli of all cards to fill
	used    int64
	cards   [CardsPerNode]int64 // used milli per card (vGPU nodes)
	cardMem [CardsPerNode]int64 // used MiB per card (vGPU nodes)
	memMiB  int64               // of one card
}

// BuildFleet builds the nodes and pods of o.
func BuildFleet(o FleetOptions) (*Fleet, error) {
	if o.Nodes <= 0 || o.Pods < 0 {
		return nil, fmt.Errorf("a fleet needs nodes and a pod count that is not negative, got %d nodes and %d pods", o.Nodes, o.Pods)
	}
	if o.VGPUEvery <= 0 {
		o.VGPUEvery = 5
	}
	if o.SchedulerName == "" {
		o.SchedulerName = "gpuplane"
	}
	cat := catalog.Default()
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	f := &Fleet{Nodes: make([]*corev1.Node, o.Nodes), Pods: make([]*corev1.Pod, 0, o.Pods)}
	nodes := make([]*fleetNode, o.Nodes)
	for i := range nodes {
		typ := fleetTypes[i%len(fleetTypes)]
		t, ok := cat.Type(typ)
		if !ok {
			return nil, fmt.Errorf("the built-in catalog has no type %q", typ)
		}
		n := &fleetNode{
			name: NodeName(i), typ: typ, vgpu: i%o.VGPUEvery == o.VGPUEvery-1,
			target: int64(rng.IntN(CardsPerNode*1000 + 1)), memMiB: t.MemoryMiB,
		}
		nodes[i] = n
		f.Nodes[i] = fleetNodeObject(n)
	}
	for j := 0; j < o.Pods; j++ {
		n := nodes[j%len(nodes)]
		name := fmt.Sprintf("run-%06d", j)
		var pod *corev1.Pod
		var err error
		if n.vgpu {
			pod, err = n.placeShare(rng, name, cat, o.SchedulerName)
		} else {
			pod, err = n.placeWhole(rng, name, cat, o.SchedulerName)
		}
		if err != nil {
			return nil, err
		}
		if pod == nil {
			pod = withHost(basePod(name, "svc"), rng)
		} else {
			f.GPUPods++
		}
		running(pod, n.name, j)
		f.Pods = append(f.Pods, pod)
	}
	for _, n := range nodes {
		f.AllocatedMilli += n.used
	}
	return f, nil
}

// NodeName is the name of the i-th simulated node.
func NodeName(i int) string { return fmt.Sprintf("gpu-node-%05d", i) }

// placeWhole returns a device-plugin pod the node still has room for under
// its target, or nil.
func (n *fleetNode) placeWhole(rng *rand.Rand, name string, cat *catalog.Catalog, scheduler string) (*corev1.Pod, error) {
	free := (n.target - n.used) / 1000
	if free <= 0 {
		return nil, nil
	}
	size := []int64{1, 1, 1, 1, 1, 2, 2, 2, 4, 8}[rng.IntN(10)]
	size = min(size, free)
	req := strconv.FormatInt(size, 10)
	if rng.IntN(2) == 0 {
		req += "(" + n.typ + ")"
	}
	pod, err := admitted(withHost(basePod(name, "train"), rng), req, cat, scheduler)
	if err != nil {
		return nil, err
	}
	n.used += size * 1000
	return pod, nil
}

// placeShare returns a vGPU pod placed on the first card that holds it, with
// its assignment written as the extender writes it, or nil.
func (n *fleetNode) placeShare(rng *rand.Rand, name string, cat *catalog.Catalog, scheduler string) (*corev1.Pod, error) {
	if n.used >= n.target {
		return nil, nil
	}
	reqs := []struct {
		req   string
		milli int64
	}{{"0.25", 250}, {"0.5", 500}, {"0.25(" + n.typ + ")", 250}, {"1(VGPU)", 1000}}
	r := reqs[rng.IntN(len(reqs))]
	mem := n.memMiB * r.milli / 1000
	card := -1
	for i := range n.cards {
		if n.cards[i]+r.milli <= 1000 && n.cardMem[i]+mem <= n.memMiB {
			card = i
			break
		}
	}
	if card < 0 {
		return nil, nil
	}
	pod, err := admitted(withHost(basePod(name, "notebook"), rng), r.req, cat, scheduler)
	if err != nil {
		return nil, err
	}
	// What the webhook wrote decides the share: the cores, and the memory
	// units (of 256 MiB) that the pod holds.
	c := &pod.Spec.Containers[0]
	cores := c.Resources.Limits[corev1.ResourceName(cat.VGPU.CoreResource)]
	units := c.Resources.Limits[corev1.ResourceName(cat.VGPU.MemoryResource)]
	memMiB := units.Value() * cat.VGPU.MemoryUnitMiB
	if r.milli == 1000 {
		memMiB = n.memMiB
	}
	if n.cardMem[card]+memMiB > n.memMiB {
		return nil, nil
	}
	n.cards[card] += r.milli
	n.cardMem[card] += memMiB
	n.used += r.milli
	a := api.Assignment{Version: api.AssignmentVersion, Node: n.name, Containers: []api.ContainerAssignment{{
		Index: 0, Name: c.Name, Cards: []api.CardShare{{Index: card, Cores: int(cores.Value()), MemoryMiB: memMiB}},
	}}}
	v, err := api.EncodeAssignment(a)
	if err != nil {
		return nil, fmt.Errorf("encoding an assignment: %w", err)
	}
	pod.Annotations[api.AnnotationAssigned] = v
	pod.Annotations[api.AnnotationPredicateNode] = n.name
	pod.Annotations[api.AnnotationPredicateGPUIdxPrefix+"0"] = strconv.Itoa(card)
	pod.Annotations[api.AnnotationGPUAssigned] = "true"
	pod.Annotations[api.AnnotationPredicateTime] = "1767225600000000000"
	return pod, nil
}

// admitted is pod with the GPU request annotation, as the webhook admits it.
func admitted(pod *corev1.Pod, request string, cat *catalog.Catalog, scheduler string) (*corev1.Pod, error) {
	pod.Annotations[api.AnnotationGPU] = request
	out, err := webhook.Mutate(pod, cat, webhook.Options{SchedulerName: scheduler})
	if err != nil {
		return nil, fmt.Errorf("the webhook refuses %q: %w", request, err)
	}
	return out, nil
}

// AdmittedPod is a typical GPU pod of the given request as the webhook
// admits it, before scheduling: what kube-scheduler sends the extender.
func AdmittedPod(name, request, scheduler string) (*corev1.Pod, error) {
	return admitted(basePod(name, "train"), request, catalog.Default(), scheduler)
}

// basePod is a pod as a Deployment's ReplicaSet creates it, defaulted by the
// API server: two containers, a projected token volume, the usual fields.
func basePod(name, app string) *corev1.Pod {
	grace := int64(30)
	tokenExpiry := int64(3607)
	mode := int32(420)
	hash := "7f9c6d5b4"
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ml", UID: types.UID("uid-" + name),
			Labels:      map[string]string{"app": app, "pod-template-hash": hash, "team": "vision"},
			Annotations: map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-" + hash, UID: "5d1f0e2a-7c3b-4f7e-9a11-0c2d4e6f8a90",
				Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true),
			}},
		},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
					Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &tokenExpiry, Path: "token"}},
						{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
							Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					},
					DefaultMode: &mode,
				}}},
			},
			Containers: []corev1.Container{
				{
					Name: "main", Image: "registry.local/" + app + ":1.4", Command: []string{"python", "main.py"},
					Args:  []string{"--epochs", "10", "--data", "/data"},
					Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}},
					Env: []corev1.EnvVar{
						{Name: "EPOCHS", Value: "10"},
						{Name: "RANK", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					},
					VolumeMounts: []corev1.VolumeMount{
						{Name: "data", MountPath: "/data"},
						{Name: "kube-api-access", ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"},
					},
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					ImagePullPolicy: corev1.PullIfNotPresent,
				},
				{
					Name: "logger", Image: "registry.local/logger:2",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
					}},
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					ImagePullPolicy: corev1.PullIfNotPresent,
				},
			},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			DeprecatedServiceAccount:      "default",
			SecurityContext:               &corev1.PodSecurityContext{},
			SchedulerName:                 corev1.DefaultSchedulerName,
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo(int64(300))},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo(int64(300))},
			},
			Priority:           ptrTo(int32(0)),
			EnableServiceLinks: ptrTo(true),
			PreemptionPolicy:   ptrTo(corev1.PreemptLowerPriority),
		},
	}
}

// withHost gives the main container CPU and memory requests of a usual size.
func withHost(pod *corev1.Pod, rng *rand.Rand) *corev1.Pod {
	cpu := []string{"500m", "1", "2"}[rng.IntN(3)]
	mem := []string{"2Gi", "4Gi", "8Gi"}[rng.IntN(3)]
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)},
	}
	return pod
}

// running binds pod to node and gives it the status a kubelet reports for a
// running pod.
func running(pod *corev1.Pod, node string, j int) {
	start := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pod.Spec.NodeName = node
	pod.ResourceVersion = "1"
	ip := fmt.Sprintf("10.%d.%d.%d", 100+j/65536%100, j/256%256, j%256)
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
		},
		HostIP: "192.168.0.1", PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &start,
		QOSClass: corev1.PodQOSBurstable,
	}
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Ready: true, Started: ptrTo(true), Image: c.Image, ImageID: c.Image + "@sha256:0f5e1b7c3a9d",
			ContainerID: "containerd://" + fmt.Sprintf("%064x", j),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		})
	}
}

// fleetNodeObject is the Node object of n as the kubelet and the node agent
// leave it.
func fleetNodeObject(n *fleetNode) *corev1.Node {
	labels, annotations, capacity := NodeMeta(n.name, n.typ, n.memMiB, n.vgpu)
	alloc := corev1.ResourceList{}
	for k, v := range capacity {
		alloc[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	t := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, LastHeartbeatTime: t, LastTransitionTime: t, Reason: reason, Message: msg}
	}
	node := &corev1.Node{
		TypeMeta:   metav1.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: n.name, UID: types.UID("uid-" + n.name), ResourceVersion: "1", Labels: labels, Annotations: annotations},
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.0.0/24", ProviderID: "metal://" + n.name},
		Status: corev1.NodeStatus{
			Capacity: alloc.DeepCopy(), Allocatable: alloc,
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
				cond(api.ConditionDriverReady, corev1.ConditionTrue, "DriverLoaded", "NVIDIA driver 580.65.06 answers NVML"),
			},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.1"}, {Type: corev1.NodeHostName, Address: n.name}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID: "0f5e1b7c3a9d4e2f8a6b", SystemUUID: "4c4c4544-0042", BootID: "b1c2d3e4",
				KernelVersion: "6.8.0-60-generic", OSImage: "Ubuntu 24.04.2 LTS", ContainerRuntimeVersion: "containerd://2.0.5",
				KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64",
			},
		},
	}
	for i := range 6 {
		node.Status.Images = append(node.Status.Images, corev1.ContainerImage{
			Names:     []string{fmt.Sprintf("registry.local/train@sha256:%064x", i), fmt.Sprintf("registry.local/train:1.%d", i)},
			SizeBytes: int64(4+i) << 30,
		})
	}
	return node
}

// NodeMeta returns the labels, annotations and capacity of a simulated GPU
// node of typ (memMiB per card): what the node agent and the device plugin
// (or the vGPU manager) give it.
func NodeMeta(name, typ string, memMiB int64, vgpu bool) (labels, annotations, capacity map[string]string) {
	labels = map[string]string{
		"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		"node.kubernetes.io/instance-type": "gpu-8x" + typ, "topology.kubernetes.io/zone": "zone-a",
		"gpu": "true", "gpu-type": typ, "train": "true",
		api.LabelGPUCount: strconv.Itoa(CardsPerNode), api.LabelGPUMemory: strconv.FormatInt(memMiB, 10),
	}
	capacity = map[string]string{"cpu": "128", "memory": "1Ti", "pods": "110", "ephemeral-storage": "2Ti"}
	if vgpu {
		labels["vgpu"] = "true"
		capacity["tencent.com/vcuda-core"] = strconv.Itoa(CardsPerNode * api.CoresPerCard)
		capacity["tencent.com/vcuda-memory"] = strconv.FormatInt(CardsPerNode*memMiB/256, 10)
	} else {
		capacity["nvidia.com/gpu"] = strconv.Itoa(CardsPerNode)
	}
	devices := make(api.Devices, CardsPerNode)
	for i := range devices {
		devices[i] = api.Device{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", name, i), Type: typ, Product: "NVIDIA " + typ, MemoryMiB: memMiB}
	}
	v, err := api.EncodeDevices(devices)
	if err != nil {
		panic(fmt.Sprintf("encoding simulated devices: %v", err)) // the list above is valid by construction
	}
	annotations = map[string]string{
		api.AnnotationDevices:                                    v,
		"node.alpha.kubernetes.io/ttl":                           "0",
		"volumes.kubernetes.io/controller-managed-attach-detach": "true",
	}
	return labels, annotations, capacity
}

func ptrTo[T any](v T) *T { return &v }
