package cache

import (
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// HolderRef names the pod behind one of Holders' placement.Holder.
type HolderRef struct {
	UID types.UID
	// Key is namespace/name.
	Key string
}

// Holders returns, for preemption, the named node as a snapshot built
// afresh from its records; the pods holding something there as
// placement's holders (their priority, and what each holds card by card,
// where the snapshot books it: vGPU pods on the cards their assignment
// names, whole-card pods on the idle cards the snapshot books them on);
// and which pod each holder is. Holders whose UID is in preferred are
// marked Preferred. The snapshot is nil when the node is unknown.
func (s *State) Holders(name string, preferred []types.UID) (*NodeSnapshot, []placement.Holder, []HolderRef) {
	ns := s.lockNode(name)
	if ns == nil {
		return nil, nil, nil
	}
	defer ns.mu.Unlock()
	now := s.clock.Now()
	recs := make([]*podRecord, 0, len(ns.pods))
	at := make(map[*podRecord]int, len(ns.pods))
	for _, rec := range ns.pods {
		if !rec.expired(now) {
			at[rec] = len(recs)
			recs = append(recs, rec)
		}
	}
	holders := make([]placement.Holder, len(recs))
	refs := make([]HolderRef, len(recs))
	for i, rec := range recs {
		holders[i] = placement.Holder{ID: string(rec.uid), Priority: rec.priority, Preferred: slices.Contains(preferred, rec.uid),
			CPUMilli: rec.cpuMilli, MemoryMiB: rec.memMiB}
		refs[i] = HolderRef{UID: rec.uid, Key: rec.key}
	}
	snap := buildSnapshotTold(name, ns.info, ns.pods, now, func(rec *podRecord, pos int, milli, memMiB int64) {
		if i, ok := at[rec]; ok {
			holders[i].Cards = append(holders[i].Cards, placement.Hold{Position: pos, Milli: milli, MemoryMiB: memMiB})
		}
	})
	return snap, holders, refs
}
