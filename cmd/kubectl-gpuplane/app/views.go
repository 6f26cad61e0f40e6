package app

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// nodeConditions are the four conditions the node agent writes (SPEC §4), in
// the order they are shown.
var nodeConditions = [...]string{
	api.ConditionDriverReady, api.ConditionRuntimeReady,
	api.ConditionDevicePluginReady, api.ConditionExporterReady,
}

// NodeView is one GPU node as `nodes` shows it.
type NodeView struct {
	Name string `json:"name"`
	// Type is the node's card type ("V100"), or the types joined by "," on a
	// node of several.
	Type string `json:"type"`
	// Mode is how the node hands out cards: "whole", "vgpu" or "whole+vgpu".
	Mode string `json:"mode"`
	// WholeFree is how many cards hold nothing: neither a whole-card pod nor a
	// vGPU share.
	WholeFree  int             `json:"wholeFree"`
	Cards      []CardView      `json:"cards"`
	Conditions []ConditionView `json:"conditions"`
	// Pods counts the GPU pods bound to the node.
	Pods int `json:"pods"`
	// Problems are what could not be read (a corrupt annotation, a vGPU pod
	// without its assignment); the figures leave those out.
	Problems []string `json:"problems"`
}

// CardView is one card of a node and what its vGPU shares take of it.
type CardView struct {
	Index      int    `json:"index"`
	Type       string `json:"type"`
	MemoryMiB  int64  `json:"memoryMiB"`
	UsedMilli  int64  `json:"usedMilli"`
	UsedMemMiB int64  `json:"usedMemoryMiB"`
	// FreeMilli is the share of the card still free, in thousandths.
	FreeMilli  int64 `json:"freeMilli"`
	FreeMemMiB int64 `json:"freeMemoryMiB"`
}

// ConditionView is one of the node agent's conditions; Status is "Unknown"
// when the node does not carry it.
type ConditionView struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// PodView is one GPU pod as `pods` shows it.
type PodView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Request is the pod's gpuplane.io/gpu annotation, or, for a pod written
	// without it, its resources in the shorthand.
	Request string `json:"request"`
	Node    string `json:"node"`
	// Cards says which cards the pod holds: "2 whole" for device-plugin
	// cards (the device plugin picks them), the assigned indexes with their
	// share for vGPU ("0:50%/8Gi").
	Cards string `json:"cards"`
	State string `json:"state"`
	// Scheduler is the pod's schedulerName.
	Scheduler string `json:"scheduler"`
	// Problem says what could not be read of the pod's GPU request.
	Problem string `json:"problem,omitempty"`
}

// podRequest is a pod's request as the extender reads it, with its
// assignment when it has a readable one.
type podRequest struct {
	req        request.Pod
	err        error
	assignment *api.Assignment
	assignErr  error
}

func readPod(pod *corev1.Pod, v *request.Vocabulary) podRequest {
	var pr podRequest
	pr.req, pr.err = request.Of(pod, v)
	if raw, ok := pod.Annotations[api.AnnotationAssigned]; ok {
		a, err := api.DecodeAssignment(raw)
		if err != nil {
			pr.assignErr = err
		} else {
			pr.assignment = &a
		}
	}
	return pr
}

// gpuPod tells whether a pod is one `pods` lists: it carries the request
// annotation or asks for cards in its resources.
func gpuPod(pod *corev1.Pod, pr podRequest) bool {
	if _, ok := pod.Annotations[api.AnnotationGPU]; ok {
		return true
	}
	return pr.err != nil || pr.req.GPU()
}

// holds tells whether a pod holds cards on its node: bound and not done.
func holds(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// NodeViews computes the view of every GPU node (a node with cards in its
// devices annotation, its labels or its capacity) from the nodes and the
// pods bound to them, sorted by name. Whole-card pods take idle cards by
// count, since the device plugin, not gpuplane, picks which; vGPU pods take
// what their gpuplane.io/assigned annotation, written by the extender at
// bind, says.
func NodeViews(nodes []corev1.Node, pods []corev1.Pod, v *request.Vocabulary) []NodeView {
	byNode := make(map[string][]*corev1.Pod)
	for i := range pods {
		if holds(&pods[i]) {
			byNode[pods[i].Spec.NodeName] = append(byNode[pods[i].Spec.NodeName], &pods[i])
		}
	}
	out := []NodeView{}
	for i := range nodes {
		nv, ok := nodeView(&nodes[i], byNode[nodes[i].Name], v)
		if ok {
			out = append(out, nv)
		}
	}
	slices.SortFunc(out, func(a, b NodeView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func nodeView(node *corev1.Node, pods []*corev1.Pod, v *request.Vocabulary) (NodeView, bool) {
	nv := NodeView{Name: node.Name, Cards: []CardView{}, Problems: []string{}}
	cards, whole, vgpu, err := nodeCards(node, v)
	if err != nil {
		nv.Problems = append(nv.Problems, err.Error())
	}
	if len(cards) == 0 && err == nil {
		return NodeView{}, false
	}
	nv.Mode = mode(whole, vgpu)
	byIndex := make(map[int]int, len(cards))
	var types []string
	for i, c := range cards {
		byIndex[c.Index] = i
		if !slices.Contains(types, c.Type) {
			types = append(types, c.Type)
		}
	}
	nv.Type = strings.Join(types, ",")

	wholeUsed := 0
	for _, pod := range pods {
		pr := readPod(pod, v)
		if !gpuPod(pod, pr) {
			continue
		}
		nv.Pods++
		if pr.err != nil {
			nv.Problems = append(nv.Problems, fmt.Sprintf("pod %s/%s: %v", pod.Namespace, pod.Name, pr.err))
			continue
		}
		for _, p := range pr.req.Parts {
			if p.Req.Cards == 0 {
				continue
			}
			if !p.Req.UsesVGPU() {
				wholeUsed += p.Req.Cards
				continue
			}
			shares, problem := containerShares(pod, pr, p.Container)
			if problem != "" {
				nv.Problems = append(nv.Problems, fmt.Sprintf("pod %s/%s: %s", pod.Namespace, pod.Name, problem))
				continue
			}
			for _, s := range shares {
				i, ok := byIndex[s.Index]
				if !ok {
					nv.Problems = append(nv.Problems, fmt.Sprintf("pod %s/%s: assigned card %d, which the node does not have", pod.Namespace, pod.Name, s.Index))
					continue
				}
				cards[i].UsedMilli += int64(s.Cores) * placement.MilliPerCard / api.CoresPerCard
				cards[i].UsedMemoryMiB += s.MemoryMiB
			}
		}
	}
	idle := 0
	for _, c := range cards {
		if c.Idle() {
			idle++
		}
		nv.Cards = append(nv.Cards, CardView{
			Index: c.Index, Type: c.Type, MemoryMiB: c.MemoryMiB,
			UsedMilli: c.UsedMilli, UsedMemMiB: c.UsedMemoryMiB,
			FreeMilli: max(c.FreeMilli(), 0), FreeMemMiB: max(c.FreeMemoryMiB(), 0),
		})
	}
	nv.WholeFree = max(idle-wholeUsed, 0)
	nv.Conditions = conditions(node)
	return nv, true
}

// containerShares returns the cards the extender assigned to a container of
// a vGPU pod, or why there are none to read.
func containerShares(pod *corev1.Pod, pr podRequest, container int) ([]api.CardShare, string) {
	switch {
	case pr.assignErr != nil:
		return nil, pr.assignErr.Error()
	case pr.assignment == nil:
		return nil, "vGPU pod without " + api.AnnotationAssigned
	case pr.assignment.Node != pod.Spec.NodeName:
		return nil, fmt.Sprintf("%s names node %s but the pod is bound to %s", api.AnnotationAssigned, pr.assignment.Node, pod.Spec.NodeName)
	}
	for _, c := range pr.assignment.Containers {
		if c.Index == container {
			return c.Cards, ""
		}
	}
	return nil, fmt.Sprintf("%s has no cards for container %d", api.AnnotationAssigned, container)
}

func mode(whole, vgpu bool) string {
	switch {
	case whole && vgpu:
		return "whole+vgpu"
	case vgpu:
		return "vgpu"
	default:
		return "whole"
	}
}

// nodeCards reads a node's cards as the extender does: from the node agent's
// devices annotation, or, without one, as many cards of the labelled type as
// the device plugin or the vGPU manager advertises.
func nodeCards(node *corev1.Node, v *request.Vocabulary) (cards []placement.Card, whole, vgpu bool, err error) {
	alloc := node.Status.Allocatable
	if alloc == nil {
		alloc = node.Status.Capacity
	}
	var wholeCount int64
	for _, r := range v.WholeResources {
		if q, ok := alloc[r]; ok && q.Value() > 0 {
			wholeCount = q.Value()
			break
		}
	}
	var coreCount int64
	if q, ok := alloc[v.CoreResource]; ok {
		coreCount = q.Value()
	}
	whole = wholeCount > 0
	vgpu = node.Labels[v.LabelVGPU] == "true" || coreCount > 0
	if raw, ok := node.Annotations[api.AnnotationDevices]; ok {
		devices, err := api.DecodeDevices(raw)
		if err != nil {
			return nil, whole, vgpu, err
		}
		for _, d := range devices {
			cards = append(cards, placement.Card{Index: d.Index, UUID: d.UUID, Type: d.Type, MemoryMiB: d.MemoryMiB})
		}
		return cards, whole, vgpu, nil
	}
	count := wholeCount
	if count == 0 && v.CoresPerCard > 0 {
		count = coreCount / v.CoresPerCard
	}
	if count == 0 {
		if n, err := strconv.ParseInt(node.Labels[api.LabelGPUCount], 10, 64); err == nil && n > 0 {
			count = n
		}
	}
	if count == 0 {
		return nil, whole, vgpu, nil
	}
	typ := node.Labels[v.LabelGPUType]
	if typ == "" {
		return nil, whole, vgpu, fmt.Errorf("%d cards but neither the %s annotation nor a %s label to tell their type",
			count, api.AnnotationDevices, v.LabelGPUType)
	}
	count = min(count, placement.MaxCards)
	memory, _ := strconv.ParseInt(node.Labels[api.LabelGPUMemory], 10, 64)
	if memory <= 0 && v.TypeMemoryMiB != nil {
		memory, _ = v.TypeMemoryMiB(typ)
	}
	cards = make([]placement.Card, count)
	for i := range cards {
		cards[i] = placement.Card{Index: i, Type: typ, MemoryMiB: max(memory, 0)}
	}
	return cards, whole, vgpu, nil
}

// conditions returns the node agent's four conditions of a node, Unknown for
// those it does not carry.
func conditions(node *corev1.Node) []ConditionView {
	out := make([]ConditionView, 0, len(nodeConditions))
	for _, t := range nodeConditions {
		cv := ConditionView{Type: t, Status: string(corev1.ConditionUnknown), Reason: "NotReported", Message: "the node agent has not written this condition"}
		for _, c := range node.Status.Conditions {
			if string(c.Type) == t {
				cv = ConditionView{Type: t, Status: string(c.Status), Reason: c.Reason, Message: c.Message}
			}
		}
		out = append(out, cv)
	}
	return out
}

// PodViews computes the view of every GPU pod, sorted by namespace and name.
func PodViews(pods []corev1.Pod, v *request.Vocabulary) []PodView {
	out := []PodView{}
	for i := range pods {
		pod := &pods[i]
		pr := readPod(pod, v)
		if !gpuPod(pod, pr) {
			continue
		}
		pv := PodView{Namespace: pod.Namespace, Name: pod.Name, Node: pod.Spec.NodeName,
			State: podState(pod), Scheduler: pod.Spec.SchedulerName}
		pv.Request = pod.Annotations[api.AnnotationGPU]
		if pr.err != nil {
			pv.Problem = pr.err.Error()
		} else if pv.Request == "" {
			pv.Request = pr.req.String()
		}
		pv.Cards = podCards(pod, pr)
		out = append(out, pv)
	}
	slices.SortFunc(out, func(a, b PodView) int {
		return cmpJoin(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

func cmpJoin(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

// podCards words the cards a bound pod holds; "" when it holds none.
func podCards(pod *corev1.Pod, pr podRequest) string {
	if pod.Spec.NodeName == "" || pr.err != nil {
		return ""
	}
	var parts []string
	for _, p := range pr.req.Parts {
		if p.Req.Cards == 0 {
			continue
		}
		if !p.Req.UsesVGPU() {
			parts = append(parts, fmt.Sprintf("%d whole", p.Req.Cards))
			continue
		}
		shares, problem := containerShares(pod, pr, p.Container)
		if problem != "" {
			parts = append(parts, "unassigned")
			continue
		}
		for _, s := range shares {
			parts = append(parts, fmt.Sprintf("%d:%d%%/%s", s.Index, s.Cores*100/api.CoresPerCard, formatMiB(s.MemoryMiB)))
		}
	}
	return strings.Join(parts, ",")
}

// podState is the pod's phase, with the reason a pending pod is not
// scheduled and Terminating for a pod being deleted, as kubectl get shows it.
func podState(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "Terminating"
	}
	phase := string(pod.Status.Phase)
	if phase == "" {
		phase = string(corev1.PodPending)
	}
	if pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "" {
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
				return phase + " (" + c.Reason + ")"
			}
		}
	}
	return phase
}

// formatMiB writes an amount of memory in Gi, with one decimal where it is
// not whole, or in Mi below 1Gi.
func formatMiB(mib int64) string {
	switch {
	case mib < 1024 && mib > -1024:
		return strconv.FormatInt(mib, 10) + "Mi"
	case mib%1024 == 0:
		return strconv.FormatInt(mib/1024, 10) + "Gi"
	default:
		return strconv.FormatFloat(float64(mib)/1024, 'f', 1, 64) + "Gi"
	}
}

// formatMilli writes a share of a card in cards: 1000 "1", 500 "0.5".
func formatMilli(m int64) string {
	return strconv.FormatFloat(float64(m)/placement.MilliPerCard, 'f', -1, 64)
}
