package ui

import (
	"cmp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/load"
)

// MaxPending is how many waiting pods the view lists; PendingTotal says how
// many there are.
const MaxPending = 200

// View is the JSON of view.json: what the page draws.
type View struct {
	// At is when the view was taken.
	At time.Time `json:"at"`
	// Synced says whether the extender's informers have listed the cluster;
	// before that the picture is partial.
	Synced bool `json:"synced"`
	// Load says whether measured load is shown.
	Load LoadStatus `json:"load"`
	// Nodes are the nodes with GPUs (or a problem reading them), by name.
	Nodes []Node `json:"nodes"`
	// OtherNodes counts the nodes without GPUs.
	OtherNodes int `json:"otherNodes"`
	// Pending are GPU pods waiting for a node, the longest-known first
	// (those the extender refused most long ago), at most MaxPending.
	Pending      []Pending `json:"pending"`
	PendingTotal int       `json:"pendingTotal"`
}

// LoadStatus says where card load comes from.
type LoadStatus struct {
	// Configured is false when the extender reads no Prometheus.
	Configured bool `json:"configured"`
	// Fresh says whether the latest answer is recent enough to score with.
	Fresh bool `json:"fresh"`
	// At is when the latest answer came; nil before the first.
	At *time.Time `json:"at,omitempty"`
}

// Node is one row of the page.
type Node struct {
	Name string `json:"name"`
	// Mode is "whole" (whole cards through the device plugin), "vgpu", or
	// "whole+vgpu".
	Mode string `json:"mode"`
	// Error says why nothing is placed on the node.
	Error string `json:"error,omitempty"`
	Cards []Card `json:"cards"`
	// Pods counts the pods holding something on the node.
	Pods int `json:"pods"`
}

// Card is one cell of a row.
type Card struct {
	Index     int    `json:"index"`
	Type      string `json:"type"`
	MemoryMiB int64  `json:"memoryMiB"`
	// UsedMilli is all that is allocated, in thousandths of the card:
	// WholeMilli (whole-card pods) plus SharedMilli (vGPU shares).
	UsedMilli   int64 `json:"usedMilli"`
	WholeMilli  int64 `json:"wholeMilli"`
	SharedMilli int64 `json:"sharedMilli"`
	// UsedMemoryMiB is the memory allocated (a whole-card pod takes all).
	UsedMemoryMiB int64   `json:"usedMemoryMiB"`
	Shares        []Share `json:"shares"`
	// Load is the card's measured load; nil when there is none (no
	// Prometheus, stale data, or no series for the card).
	Load *CardLoad `json:"load,omitempty"`
}

// Share is one pod's vGPU share of a card.
type Share struct {
	Pod       string `json:"pod"`
	Milli     int64  `json:"milli"`
	MemoryMiB int64  `json:"memoryMiB"`
}

// CardLoad is a card's measured load; a nil field was not reported.
type CardLoad struct {
	UtilPercent   *float64 `json:"utilPercent,omitempty"`
	MemoryUsedMiB *float64 `json:"memoryUsedMiB,omitempty"`
}

// Pending is a GPU pod waiting for a node.
type Pending struct {
	// Pod is namespace/name.
	Pod string `json:"pod"`
	// Request is the request as the webhook applied it (or as the pod's
	// resources read).
	Request   string `json:"request"`
	Scheduler string `json:"scheduler"`
	// Verdict is the extender's latest filter answer on the pod; nil when
	// the extender has not been asked about it (kube-scheduler's own
	// checks refused every node first, or it has not been tried yet).
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Verdict is the extender's latest filter answer on a pod.
type Verdict struct {
	At         time.Time `json:"at"`
	Candidates int       `json:"candidates"`
	Fitting    int       `json:"fitting"`
	// Error is set when the call itself was unusable.
	Error  string           `json:"error,omitempty"`
	Groups []refusals.Group `json:"groups"`
}

// Inputs are what a View is computed from, each read once from the
// extender's cache.
type Inputs struct {
	At     time.Time
	Synced bool
	State  cache.StateView
	// Load is the latest load snapshot (nil: none) and whether it is
	// fresh; LoadConfigured is false without Prometheus.
	Load           *load.Snapshot
	LoadFresh      bool
	LoadConfigured bool
	// Pending are the pods waiting for a node, GPU or not.
	Pending []*corev1.Pod
	// Verdict returns the extender's latest verdict on a pod.
	Verdict func(*corev1.Pod) (refusals.Refusal, bool)
	// Vocabulary reads the pods' requests.
	Vocabulary *request.Vocabulary
}

// Compute is the view of in.
func Compute(in Inputs) View {
	v := View{At: in.At, Synced: in.Synced, Nodes: []Node{}, Pending: []Pending{},
		Load: LoadStatus{Configured: in.LoadConfigured, Fresh: in.LoadFresh}}
	if in.Load != nil && in.LoadConfigured {
		at := in.Load.At
		v.Load.At = &at
	}
	for i := range in.State.Nodes {
		n := &in.State.Nodes[i]
		if len(n.Cards) == 0 && n.Error == "" {
			v.OtherNodes++
			continue
		}
		v.Nodes = append(v.Nodes, node(n, in.Load, in.LoadFresh))
	}
	for _, p := range in.Pending {
		req, err := request.Of(p, in.Vocabulary)
		if err == nil && !req.GPU() {
			continue
		}
		pp := Pending{Pod: p.Namespace + "/" + p.Name, Scheduler: p.Spec.SchedulerName, Request: requestText(p, &req, err)}
		if in.Verdict != nil {
			if r, ok := in.Verdict(p); ok {
				pp.Verdict = &Verdict{At: r.At, Candidates: r.Candidates, Fitting: r.Fitting, Error: r.Error, Groups: r.Groups}
				if pp.Verdict.Groups == nil {
					pp.Verdict.Groups = []refusals.Group{}
				}
			}
		}
		v.Pending = append(v.Pending, pp)
	}
	v.PendingTotal = len(v.Pending)
	// Pods the extender refused first, longest ago first; then the others
	// by name.
	slices.SortFunc(v.Pending, func(a, b Pending) int {
		switch {
		case a.Verdict != nil && b.Verdict != nil:
			if c := a.Verdict.At.Compare(b.Verdict.At); c != 0 {
				return c
			}
		case a.Verdict != nil:
			return -1
		case b.Verdict != nil:
			return 1
		}
		return cmp.Compare(a.Pod, b.Pod)
	})
	if len(v.Pending) > MaxPending {
		v.Pending = v.Pending[:MaxPending]
	}
	return v
}

// requestText is the pod's request as the webhook applied it, as the user
// wrote it, or as its resources read.
func requestText(p *corev1.Pod, req *request.Pod, err error) string {
	for _, key := range []string{api.AnnotationApplied, api.AnnotationGPU} {
		if s := p.Annotations[key]; s != "" {
			return s
		}
	}
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return req.String()
}

func node(n *cache.NodeView, snap *load.Snapshot, fresh bool) Node {
	out := Node{Name: n.Name, Error: n.Error, Cards: make([]Card, 0, len(n.Cards)), Pods: len(n.Pods)}
	switch {
	case n.WholeCards && n.VGPU:
		out.Mode = "whole+vgpu"
	case n.VGPU:
		out.Mode = "vgpu"
	default:
		out.Mode = "whole"
	}
	var nl load.NodeLoad
	hasLoad := false
	if fresh {
		nl, hasLoad = snap.Node(n.Name)
	}
	for _, c := range n.Cards {
		card := Card{Index: c.Index, Type: c.Type, MemoryMiB: c.MemoryMiB, UsedMilli: c.UsedMilli,
			UsedMemoryMiB: c.UsedMemoryMiB, Shares: make([]Share, 0, len(c.Shares))}
		for _, s := range c.Shares {
			card.SharedMilli += s.Milli
			card.Shares = append(card.Shares, Share{Pod: s.Pod, Milli: s.Milli, MemoryMiB: s.MemoryMiB})
		}
		card.WholeMilli = max(c.UsedMilli-card.SharedMilli, 0)
		if hasLoad {
			if l, ok := nl.Card(c.Index, c.UUID); ok && (l.HasUtil || l.HasMemory) {
				card.Load = &CardLoad{}
				if l.HasUtil {
					u := l.Util
					card.Load.UtilPercent = &u
				}
				if l.HasMemory {
					m := l.MemoryUsedMiB
					card.Load.MemoryUsedMiB = &m
				}
			}
		}
		out.Cards = append(out.Cards, card)
	}
	return out
}
