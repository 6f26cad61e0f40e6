package extender

import (
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// hamiDevices collects, while choose places a pod's parts on a HAMi node,
// the cards to tell HAMi's device plugin by container, and books the same
// on the holding: a restart rebuilds exactly this from the annotation.
type hamiDevices struct{ pd hami.PodDevices }

// add gives container ci card c with memMiB and cores.
func (d *hamiDevices) add(ci int, c *placement.Card, memMiB int64, cores int) {
	for len(d.pd) <= ci {
		d.pd = append(d.pd, nil)
	}
	d.pd[ci] = append(d.pd[ci], hami.ContainerDevice{UUID: c.UUID, Type: hami.DeviceTypeNVIDIA, MemoryMiB: memMiB, Cores: cores})
}

// part records a HAMi share or HAMi's virtual cards of one container on
// the cards of set: the memory and cores the container asked, HAMi's
// defaults (all the card's memory, no core limit) where it wrote none.
func (d *hamiDevices) part(n *placement.Node, set placement.CardSet, p *request.Part, h *cache.Holding) {
	r := &p.Req
	for _, pos := range set.Positions() {
		c := &n.Cards[pos]
		mem := p.HAMiMemoryMiB
		if mem == 0 {
			mem = c.MemoryMiB
		}
		d.add(p.Container, c, mem, p.HAMiCores)
		milli, held := r.Milli, mem
		if r.IsShare() {
			held = max(mem, r.CardMemoryMiB)
		}
		h.Shares = append(h.Shares, cache.CardShare{Container: p.Container, Index: c.Index, UUID: c.UUID, Milli: milli, MemoryMiB: held})
	}
}

// whole records the pod's whole cards (nvidia.com/gpu without HAMi's cores
// or memory) on a HAMi node: the cards of set go to the containers in
// order, as many to each as it asks, each with all of its memory and no
// core limit (what HAMi's own scheduler writes for them).
func (d *hamiDevices) whole(n *placement.Node, set placement.CardSet, counts []int, h *cache.Holding) {
	pos := set.Positions()
	k := 0
	for ci, want := range counts {
		for j := 0; j < want && k < len(pos); j++ {
			c := &n.Cards[pos[k]]
			k++
			d.add(ci, c, c.MemoryMiB, 0)
			h.Shares = append(h.Shares, cache.CardShare{Container: ci, Index: c.Index, UUID: c.UUID, Milli: placement.MilliPerCard, MemoryMiB: c.MemoryMiB})
		}
	}
}
