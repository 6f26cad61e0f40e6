package placement

import "strconv"

// nodeBuilder builds test nodes: makeNode("node-7", "V100", 4).withUsed(0, 1000).build().
type nodeBuilder struct{ n Node }

func makeNode(name, typ string, cards int) *nodeBuilder {
	b := &nodeBuilder{n: Node{Name: name, WholeCards: true, VGPU: true, CPUMilli: 64000, MemoryMiB: 256 * 1024}}
	for i := 0; i < cards; i++ {
		b.n.Cards = append(b.n.Cards, Card{Index: i, UUID: "GPU-" + name + "-" + strconv.Itoa(i), Type: typ, MemoryMiB: 16 * 1024})
	}
	return b
}

// withUsed allocates milli of card i (and card memory in proportion).
func (b *nodeBuilder) withUsed(i int, milli int64) *nodeBuilder {
	b.n.Cards[i].UsedMilli = milli
	b.n.Cards[i].UsedMemoryMiB = b.n.Cards[i].MemoryMiB * milli / MilliPerCard
	return b
}

func (b *nodeBuilder) withCard(typ string) *nodeBuilder {
	i := len(b.n.Cards)
	b.n.Cards = append(b.n.Cards, Card{Index: i, Type: typ, MemoryMiB: 16 * 1024})
	return b
}

func (b *nodeBuilder) withHost(cpu, usedCPU, mem, usedMem int64) *nodeBuilder {
	b.n.CPUMilli, b.n.UsedCPUMilli, b.n.MemoryMiB, b.n.UsedMemoryMiB = cpu, usedCPU, mem, usedMem
	return b
}

func (b *nodeBuilder) wholeOnly() *nodeBuilder { b.n.VGPU = false; return b }

func (b *nodeBuilder) vgpuOnly() *nodeBuilder { b.n.WholeCards = false; return b }

func (b *nodeBuilder) withLoad(i int, util float64) *nodeBuilder {
	b.n.Cards[i].Load.Utilization = util
	b.n.LoadFresh = true
	return b
}

func (b *nodeBuilder) build() *Node {
	n := b.n
	n.Cards = append([]Card(nil), b.n.Cards...)
	return &n
}

// req builds a request with host resources.
func req(r Request, cpu, mem int64) *Request {
	r.CPUMilli, r.MemoryMiB = cpu, mem
	return &r
}
