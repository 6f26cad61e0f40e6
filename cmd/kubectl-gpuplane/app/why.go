package app

import (
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
)

// WhyView says why a pod waits, or where it landed and how.
type WhyView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Request   string `json:"request"`
	State     string `json:"state"`
	// Node, Cards and Bound describe a pod that landed: its node, its cards
	// (as `pods` words them), the extender's assignment for a vGPU pod, and
	// the scheduler's Scheduled event.
	Node       string          `json:"node,omitempty"`
	Cards      string          `json:"cards,omitempty"`
	Assignment *api.Assignment `json:"assignment,omitempty"`
	Bound      string          `json:"bound,omitempty"`
	// Pending is the scheduler's latest FailedScheduling event of a pod not
	// bound, read into its reasons; nil when there is none (yet).
	Pending *Diagnosis `json:"pending,omitempty"`
}

// Diagnosis is a FailedScheduling message read apart: how many nodes there
// were, the reasons grouped, and what preemption found.
type Diagnosis struct {
	// Message is the event's message as the scheduler wrote it.
	Message string `json:"message"`
	// Count is how many times the scheduler has reported it.
	Count int32 `json:"count"`
	// Nodes is how many nodes the scheduler considered; -1 when the message
	// does not say.
	Nodes  int           `json:"nodes"`
	Groups []ReasonGroup `json:"groups"`
	// Preemption is what the scheduler's preemption attempt found, if it
	// says.
	Preemption string `json:"preemption,omitempty"`
}

// ReasonGroup is one reason and the nodes it was given for: by name where the
// extender named them ("gpu-v100: 4 free V100, pod needs 8"), else only how
// many (kube-scheduler's own reasons).
type ReasonGroup struct {
	Reason    string   `json:"reason"`
	NodeCount int      `json:"nodeCount"`
	Nodes     []string `json:"nodes"`
}

// available is what a FailedScheduling message says before its reasons.
const available = " nodes are available: "

// Diagnose reads a FailedScheduling message of kube-scheduler ("0/3 nodes are
// available: 1 gpu-v100: 4 free V100, pod needs 8, 2 node(s) didn't match
// Pod's node affinity/selector. preemption: ...") into its reasons. The
// extender's reasons start with the node's name; those of nodes in known are
// grouped by what follows it, so that nodes short of the same thing are told
// together. A message of another shape is kept whole as one reason.
func Diagnose(message string, known []string) Diagnosis {
	d := Diagnosis{Message: message, Nodes: -1, Groups: []ReasonGroup{}}
	head, body, ok := strings.Cut(message, available)
	if !ok {
		d.Groups = append(d.Groups, ReasonGroup{Reason: strings.TrimSpace(message), Nodes: []string{}})
		return d
	}
	if _, total, ok := strings.Cut(head, "/"); ok {
		if n, err := strconv.Atoi(total); err == nil {
			d.Nodes = n
		}
	}
	if i := strings.Index(body, " preemption: "); i >= 0 {
		d.Preemption = strings.TrimSpace(body[i+len(" preemption: "):])
		body = body[:i]
	}
	body = strings.TrimSuffix(strings.TrimSpace(body), ".")
	index := map[string]int{}
	for _, item := range reasonItems(body) {
		count, reason := 1, item
		if n, rest, ok := strings.Cut(item, " "); ok {
			if c, err := strconv.Atoi(n); err == nil {
				count, reason = c, rest
			}
		}
		node := ""
		if name, rest, ok := strings.Cut(reason, ": "); ok && slices.Contains(known, name) {
			node, reason = name, rest
		}
		i, seen := index[reason]
		if !seen {
			i = len(d.Groups)
			index[reason] = i
			d.Groups = append(d.Groups, ReasonGroup{Reason: reason, Nodes: []string{}})
		}
		d.Groups[i].NodeCount += count
		if node != "" {
			d.Groups[i].Nodes = append(d.Groups[i].Nodes, node)
		}
	}
	for i := range d.Groups {
		slices.Sort(d.Groups[i].Nodes)
	}
	slices.SortStableFunc(d.Groups, func(a, b ReasonGroup) int { return b.NodeCount - a.NodeCount })
	return d
}

// reasonItems splits the reasons of a FailedScheduling message. They are
// joined by ", " and each starts with its count; a reason may itself hold
// ", " ("4 free V100, pod needs 8"), so a piece that does not start with a
// count belongs to the reason before it.
func reasonItems(body string) []string {
	var out []string
	for _, piece := range strings.Split(body, ", ") {
		if len(out) > 0 && !startsWithCount(piece) {
			out[len(out)-1] += ", " + piece
			continue
		}
		out = append(out, piece)
	}
	return out
}

func startsWithCount(s string) bool {
	n, _, ok := strings.Cut(s, " ")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// Why computes the view of one pod from its events and the names of the
// cluster's nodes.
func Why(pod *corev1.Pod, events []corev1.Event, nodes []string, v *request.Vocabulary) WhyView {
	pr := readPod(pod, v)
	w := WhyView{Namespace: pod.Namespace, Name: pod.Name, State: podState(pod), Node: pod.Spec.NodeName}
	w.Request = pod.Annotations[api.AnnotationGPU]
	if w.Request == "" && pr.err == nil {
		w.Request = pr.req.String()
	}
	if pod.Spec.NodeName != "" {
		w.Cards = podCards(pod, pr)
		w.Assignment = pr.assignment
		if e := latest(events, "Scheduled"); e != nil {
			w.Bound = e.Message
		}
		return w
	}
	if e := latest(events, "FailedScheduling"); e != nil {
		d := Diagnose(e.Message, nodes)
		d.Count = max(e.Count, 1)
		if e.Series != nil {
			d.Count = max(d.Count, e.Series.Count)
		}
		w.Pending = &d
	}
	return w
}

// latest returns the newest event of the pod with that reason, or nil.
func latest(events []corev1.Event, reason string) *corev1.Event {
	var best *corev1.Event
	var bestAt time.Time
	for i := range events {
		e := &events[i]
		if e.Reason != reason {
			continue
		}
		at := eventTime(e)
		if best == nil || !at.Before(bestAt) {
			best, bestAt = e, at
		}
	}
	return best
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}
