package sim

import (
	"fmt"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// DefaultHAMiSplit is HAMi's default split count (deviceSplitCount): the
// most tasks one card holds.
const DefaultHAMiSplit = 10

// ServeWith makes the trace a pool served by the sharing backend s: every
// node's shares go through s, and every share asks for it. gpu-manager
// leaves the trace as read. For HAMi every card holds at most split tasks,
// whole cards and shares alike (HAMi counts both), as HAMi's device plugin
// registers it; the trace gives no card memory, so memory is not checked,
// as for gpu-manager. MIG and time-slicing hand out fixed units, which the
// trace's shares of any size do not map onto; they are refused.
func (t *Trace) ServeWith(s placement.Sharing, split int) error {
	switch s {
	case placement.SharingGPUManager:
		return nil
	case placement.SharingHAMi:
	default:
		return fmt.Errorf("%w: --sharing %s: a trace's shares of any size are replayed on gpu-manager or hami, not on fixed units", ErrUsage, s)
	}
	if split < 1 {
		return fmt.Errorf("%w: --hami-split %d, want at least 1", ErrUsage, split)
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		n.Sharing = s
		for k := range n.Cards {
			n.Cards[k].Slots = split
		}
	}
	for i := range t.Pods {
		if r := &t.Pods[i].Request; r.UsesVGPU() {
			r.Sharing = s
		}
	}
	return nil
}
