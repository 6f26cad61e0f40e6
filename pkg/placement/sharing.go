package placement

import "fmt"

// Sharing is the backend that hands out the shares and virtual cards of a
// node, or fixed units of it. The zero value is tencent gpu-manager, what
// every node and request meant before there was a choice.
type Sharing uint8

// The sharing backends (docs/sharing.md).
const (
	// SharingGPUManager: tencent gpu-manager's vcuda cores and memory;
	// the card is chosen by the extender (tencent.com/predicate-gpu-idx-*).
	SharingGPUManager Sharing = iota
	// SharingHAMi: HAMi's device plugin and HAMi-core; the card is chosen
	// by the extender (hami.io/vgpu-devices-to-allocate), and a card holds
	// at most Card.Slots tasks (HAMi's split count).
	SharingHAMi
	// SharingMIG: the MIG instances of the NVIDIA device plugin, fixed by
	// the operator's layout; a request takes instances of one profile
	// (Request.Unit), the device plugin picks which.
	SharingMIG
	// SharingTimeslice: the NVIDIA device plugin's time-slicing replicas
	// (nvidia.com/gpu.shared); nothing isolates memory or compute, the
	// device plugin picks the replica.
	SharingTimeslice
)

// String is the backend's name as the catalog and the node label write it.
func (s Sharing) String() string {
	switch s {
	case SharingGPUManager:
		return "gpu-manager"
	case SharingHAMi:
		return "hami"
	case SharingMIG:
		return "mig"
	case SharingTimeslice:
		return "timeslice"
	}
	return fmt.Sprintf("sharing(%d)", uint8(s))
}

// shareNoun names what a backend's shares are called in refusals.
func (s Sharing) shareNoun() string {
	if s == SharingGPUManager {
		return "vGPU"
	}
	return s.String() + " shares"
}

// ParseSharing reads a backend's name.
func ParseSharing(name string) (Sharing, error) {
	for s := SharingGPUManager; s <= SharingTimeslice; s++ {
		if s.String() == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown sharing backend %q, want gpu-manager, hami, mig or timeslice", name)
}

// Units is a pool of interchangeable units of a node that its device plugin
// hands out by count: the MIG instances of one profile, or time-slicing
// replicas. The units are fixed by the node (the operator's MIG layout, the
// replicas of the sharing config); the device plugin, not the extender,
// picks which unit a container gets, so only the count matters.
type Units struct {
	// Name is the resource without its vendor prefix: "mig-3g.40gb",
	// "gpu.shared".
	Name string
	// Total is what the node advertises; Used what pods hold.
	Total, Used int64
}

// Free is the units not held.
func (u *Units) Free() int64 { return u.Total - u.Used }

// unitsOf returns the node's pool of units named name, nil when it has
// none.
func (n *Node) unitsOf(name string) *Units {
	for i := range n.Units {
		if n.Units[i].Name == name {
			return &n.Units[i]
		}
	}
	return nil
}

// IsUnits tells whether r asks for units of a pool (MIG instances,
// time-slicing replicas) rather than cards.
func (r *Request) IsUnits() bool { return r.Unit != "" }

// checkUnits is Check's card part for a request of units.
func checkUnits(n *Node, r *Request, v *Verdict) {
	u := n.unitsOf(r.Unit)
	if u == nil || u.Total == 0 {
		v.Short = ShortNoUnits
		return
	}
	if len(r.Types) > 0 && len(n.Cards) > 0 {
		allowed := false
		for i := range n.Cards {
			allowed = allowed || r.allows(n.Cards[i].Type)
		}
		if !allowed {
			v.Short, v.typ = ShortType, cardTypes(n)
			return
		}
	}
	if u.Free() < int64(r.Cards) {
		v.Short, v.have = ShortUnits, u.Free()
	}
}

// unitsUsedAfter is the share of the request's pool in use once r is
// placed: what binpack maximises and spread minimises for units. The
// layout is fixed, so where the units go changes no node's fragmentation;
// every fragmentation-aware policy packs them, keeping other nodes' units
// whole for requests of more of them.
func unitsUsedAfter(n *Node, r *Request) float64 {
	u := n.unitsOf(r.Unit)
	if u == nil || u.Total <= 0 {
		return 0
	}
	return float64(u.Used+int64(r.Cards)) / float64(u.Total)
}

// slotFree tells whether card c may take one more task.
func slotFree(c *Card) bool { return c.Slots == 0 || c.UsedSlots < c.Slots }
