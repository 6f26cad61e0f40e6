package cache

import (
	"cmp"
	"slices"
	"time"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// StateView is the JSON /state serves: every node's cards and what is
// allocated on each.
type StateView struct {
	Nodes []NodeView `json:"nodes"`
	Sizes Sizes      `json:"sizes"`
}

// NodeView is one node.
type NodeView struct {
	Name string `json:"name"`
	// Error says why nothing is placed on the node.
	Error         string     `json:"error,omitempty"`
	WholeCards    bool       `json:"wholeCards"`
	VGPU          bool       `json:"vgpu"`
	CPUMilli      int64      `json:"cpuMilli"`
	UsedCPUMilli  int64      `json:"usedCpuMilli"`
	MemoryMiB     int64      `json:"memoryMiB"`
	UsedMemoryMiB int64      `json:"usedMemoryMiB"`
	Cards         []CardView `json:"cards"`
	// Sharing is the backend of the node's shares; Units its pools of
	// MIG instances or time-slicing replicas.
	Sharing    string            `json:"sharing"`
	Units      []placement.Units `json:"units,omitempty"`
	Pods       []PodView         `json:"pods,omitempty"`
	Overbooked []string          `json:"overbooked,omitempty"`
}

// CardView is one card: its capacity, what is allocated (whole-card pods
// included, counted on the cards the extender books them on) and the vGPU
// shares that name it.
type CardView struct {
	Index         int    `json:"index"`
	UUID          string `json:"uuid,omitempty"`
	Type          string `json:"type"`
	MemoryMiB     int64  `json:"memoryMiB"`
	UsedMilli     int64  `json:"usedMilli"`
	UsedMemoryMiB int64  `json:"usedMemoryMiB"`
	// Slots is the most tasks the card holds (HAMi's split count; 0: no
	// limit) and UsedSlots the tasks on it.
	Slots     int         `json:"slots,omitempty"`
	UsedSlots int         `json:"usedSlots,omitempty"`
	Shares    []ShareView `json:"shares,omitempty"`
}

// ShareView is one pod's share of a card.
type ShareView struct {
	Pod       string `json:"pod"`
	Milli     int64  `json:"milli"`
	MemoryMiB int64  `json:"memoryMiB"`
}

// PodView is one pod holding something on a node.
type PodView struct {
	Pod     string     `json:"pod"`
	UID     string     `json:"uid"`
	Assumed bool       `json:"assumed,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	// WholeCards are device-plugin cards, counted per node.
	WholeCards int `json:"wholeCards,omitempty"`
	// Units are what it holds of the node's pools.
	Units     []UnitHold `json:"units,omitempty"`
	CPUMilli  int64      `json:"cpuMilli,omitempty"`
	MemoryMiB int64      `json:"memoryMiB,omitempty"`
	Problem   string     `json:"problem,omitempty"`
}

// View returns the whole state, nodes by name, each consistent in itself.
func (s *State) View() StateView {
	s.nodesMu.RLock()
	names := make([]string, 0, len(s.nodes))
	for name := range s.nodes {
		names = append(names, name)
	}
	s.nodesMu.RUnlock()
	slices.Sort(names)
	out := StateView{Nodes: make([]NodeView, 0, len(names)), Sizes: s.Sizes()}
	for _, name := range names {
		ns := s.lockNode(name)
		if ns == nil {
			continue
		}
		out.Nodes = append(out.Nodes, viewOf(ns))
		ns.mu.Unlock()
	}
	return out
}

// viewOf describes a locked node.
func viewOf(ns *nodeState) NodeView {
	snap := ns.snap.Load()
	n := &snap.node
	v := NodeView{
		Name: ns.name, WholeCards: n.WholeCards, VGPU: n.VGPU,
		CPUMilli: n.CPUMilli, UsedCPUMilli: n.UsedCPUMilli, MemoryMiB: n.MemoryMiB, UsedMemoryMiB: n.UsedMemoryMiB,
		Cards: make([]CardView, len(n.Cards)), Overbooked: snap.overbooked,
		Sharing: n.Sharing.String(), Units: n.Units,
	}
	if snap.err != nil {
		v.Error = snap.err.Error()
	}
	for i := range n.Cards {
		c := &n.Cards[i]
		v.Cards[i] = CardView{Index: c.Index, UUID: c.UUID, Type: c.Type, MemoryMiB: c.MemoryMiB, UsedMilli: c.UsedMilli, UsedMemoryMiB: c.UsedMemoryMiB,
			Slots: c.Slots, UsedSlots: c.UsedSlots}
	}
	for _, rec := range ns.pods {
		pv := PodView{Pod: rec.key, UID: string(rec.uid), Assumed: rec.assumed, WholeCards: rec.whole, Units: rec.units,
			CPUMilli: rec.cpuMilli, MemoryMiB: rec.memMiB, Problem: rec.problem}
		if rec.assumed {
			t := rec.expires
			pv.Expires = &t
		}
		v.Pods = append(v.Pods, pv)
		for _, sh := range rec.shares {
			p := n.Position(sh.Index)
			if sh.UUID != "" {
				p = positionOfUUID(n, sh.UUID)
			}
			if p >= 0 {
				v.Cards[p].Shares = append(v.Cards[p].Shares, ShareView{Pod: rec.key, Milli: sh.Milli, MemoryMiB: sh.MemoryMiB})
			}
		}
	}
	slices.SortFunc(v.Pods, func(a, b PodView) int { return cmp.Compare(a.Pod, b.Pod) })
	for i := range v.Cards {
		slices.SortFunc(v.Cards[i].Shares, func(a, b ShareView) int { return cmp.Compare(a.Pod, b.Pod) })
	}
	return v
}
