package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// printTable writes one row per request: where it landed and on which cards, or
// why it did not.
func printTable(out io.Writer, results []result) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "REQUEST\tPOD\tNODE\tCARDS\tWHY")
	for _, r := range results {
		request := r.Request
		if r.Role != "" {
			request += " role=" + r.Role
		}
		name := r.Name
		if r.Kind != "Pod" {
			name = strings.ToLower(r.Kind) + "/" + r.Name
		}
		node, cards, why := dash(r.Node), dash(r.Cards), r.Message
		switch r.Outcome {
		case outcomeBound:
			why = "nodes with " + r.Affinity
			if r.Message != "" {
				why += "; " + r.Message
			}
		case outcomePending:
			node, why = "(pending)", r.Message
		case outcomeRefused:
			node, why = "(refused)", r.Message
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", request, name, node, cards, oneLine(why))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a multi-line message in its table cell.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatResources writes a resource list as name=quantity pairs in name order.
func formatResources(rs map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(rs)) {
		parts = append(parts, k+"="+rs[k])
	}
	return strings.Join(parts, " ")
}

// limits are the limits the pod's containers carry, as Kubernetes writes them.
func limits(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, c := range pod.Spec.Containers {
		for name, q := range c.Resources.Limits {
			out[string(name)] = q.String()
		}
	}
	return out
}

// requiredAffinity summarises the pod's required node affinity: the labels a node
// must carry ("gpu=true, gpu-type in (V100, A100)"), terms joined by "or".
func requiredAffinity(pod *corev1.Pod) string {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "any labels"
	}
	var terms []string
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		var exprs []string
		for _, e := range t.MatchExpressions {
			switch {
			case e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1:
				exprs = append(exprs, e.Key+"="+e.Values[0])
			case e.Operator == corev1.NodeSelectorOpIn:
				exprs = append(exprs, fmt.Sprintf("%s in (%s)", e.Key, strings.Join(e.Values, ", ")))
			default:
				exprs = append(exprs, fmt.Sprintf("%s %s (%s)", e.Key, e.Operator, strings.Join(e.Values, ", ")))
			}
		}
		terms = append(terms, strings.Join(exprs, ", "))
	}
	return strings.Join(terms, " or ")
}

// cardsOf says what a bound pod holds: the cards the extender chose for a vGPU pod
// (gpuplane.io/assigned), or a count of whole cards of the node's type, since the
// device plugin picks those when the container starts.
func cardsOf(pod *corev1.Pod, node *corev1.Node, cat *catalog.Catalog) (string, *api.Assignment, error) {
	if raw, ok := pod.Annotations[api.AnnotationAssigned]; ok {
		a, err := api.DecodeAssignment(raw)
		if err != nil {
			return "", nil, fmt.Errorf("%s of pod %s: %w", api.AnnotationAssigned, pod.Name, err)
		}
		types := map[int]string{}
		// Without the node's devices annotation the card's type is left out.
		devices, _ := api.DecodeDevices(node.Annotations[api.AnnotationDevices])
		for _, d := range devices {
			types[d.Index] = d.Type + " "
		}
		var cards []string
		for _, c := range a.Containers {
			for _, s := range c.Cards {
				cards = append(cards, fmt.Sprintf("%s#%d: %d%% compute, %s",
					types[s.Index], s.Index, s.Cores*100/cat.VGPU.CoresPerCard, mebibytes(s.MemoryMiB)))
			}
		}
		return strings.Join(cards, "; "), &a, nil
	}
	if raw, ok := pod.Annotations[hami.AnnotationAllocated]; ok {
		return hamiCards(raw, pod, node, cat)
	}
	var mig []string
	for _, c := range pod.Spec.Containers {
		for name, q := range c.Resources.Limits {
			if p, ok := strings.CutPrefix(string(name), catalog.MIGResourcePrefix); ok {
				mig = append(mig, fmt.Sprintf("%d x %s MIG %s", q.Value(), node.Labels[cat.Labels.GPUType], p))
			}
		}
	}
	if len(mig) > 0 {
		// The device plugin picks the instance when the container starts.
		slices.Sort(mig)
		return strings.Join(mig, "; "), nil, nil
	}
	var whole int64
	for _, c := range pod.Spec.Containers {
		for _, v := range cat.Vendors {
			if q, ok := c.Resources.Limits[corev1.ResourceName(v.Resource)]; ok {
				whole += q.Value()
			}
		}
	}
	if whole == 0 {
		return "", nil, nil
	}
	typ := node.Labels[cat.Labels.GPUType]
	if typ == "" {
		typ = "card"
	}
	return fmt.Sprintf("%d x %s", whole, typ), nil, nil
}

// hamiCards says which cards the extender gave a HAMi pod, from the
// annotation HAMi's device plugin reads (hami.io/vgpu-devices-allocated),
// each card by its index in HAMi's registration of the node.
func hamiCards(raw string, pod *corev1.Pod, node *corev1.Node, cat *catalog.Catalog) (string, *api.Assignment, error) {
	pd, err := hami.DecodePodDevices(raw)
	if err != nil {
		return "", nil, fmt.Errorf("%s of pod %s: %w", hami.AnnotationAllocated, pod.Name, err)
	}
	index := map[string]string{}
	if reg, err := hami.DecodeRegistration(node.Annotations[hami.AnnotationRegister]); err == nil {
		for _, d := range reg {
			index[d.UUID] = fmt.Sprintf("#%d", d.Index)
		}
	}
	var cards []string
	for _, c := range pd {
		for _, d := range c {
			name := index[d.UUID]
			if name == "" {
				name = d.UUID
			}
			cards = append(cards, fmt.Sprintf("%s %s: %d%% compute, %s (HAMi)", node.Labels[cat.Labels.GPUType], name, d.Cores, mebibytes(d.MemoryMiB)))
		}
	}
	return strings.Join(cards, "; "), nil, nil
}

func mebibytes(mib int64) string {
	if mib%1024 == 0 {
		return fmt.Sprintf("%dGi", mib/1024)
	}
	return fmt.Sprintf("%dMi", mib)
}
