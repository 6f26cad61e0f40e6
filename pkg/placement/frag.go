package placement

import "math"

// Fragmentation is the ATC '23 measure F_n(M) of node n against the mix:
// the expected free GPU milli of n that the next request, drawn from the
// mix, could not use. For one class m the unusable part is every free card
// when m cannot run on n at all (type, too few cards, CPU), else the free
// cores of the cards too small for one of m's cards.
//
// It is computed as free - usable, where usable is the expected free GPU a
// request of the mix could use (see usable).
func (w *Workload) Fragmentation(n *Node) float64 {
	var free int64
	for i := range n.Cards {
		free += n.Cards[i].FreeMilli()
	}
	return float64(free)*w.gpuWeight() - w.usable(n, 0, 0, 0, 0, paperMeasure())
}

// measure is how usable capacity is counted.
type measure struct {
	// memory: a class also needs the node's free host memory (the paper
	// counts CPU only).
	memory bool
	// shareFill, 0..1, blends into the paper's count for share classes (the
	// free cores of the cards one share would fit) what the class could
	// consume of the node: as many of its shares as the free cores, CPU and
	// memory hold together.
	shareFill float64
	// scale, when set, multiplies the weight of each shape (Workload.shapes).
	scale []float64
}

// paperMeasure is F_n(M) of the ATC '23 paper: CPU only, no consumption.
func paperMeasure() measure { return measure{} }

// gpuWeight is the share of the mix F counts: all of it (CPU-only classes
// find every free card unusable), or nothing for an empty mix.
func (w *Workload) gpuWeight() float64 {
	if w.total <= 0 {
		return 0
	}
	return 1
}

// usable is the expected free GPU milli the next request of the mix could
// use on n after taking milli from each card of set, and cpu and mem from
// the host (all zero: n as it is). A class that can run uses the free cores
// of every card that holds one of its cards, so
//
//	usable = sum over GPU classes m that can run on n of p(m) * (free cores of the cards >= m's milli)
//
// and Fragmentation = free - usable. Cards of different types are measured
// apart (a request takes cards of one type), sharing CPU and memory.
func (w *Workload) usable(n *Node, set CardSet, milli, cpu, mem int64, m measure) float64 {
	if w == nil || len(w.shapes) == 0 || len(n.Cards) == 0 {
		return 0
	}
	freeCPU, freeMem := int64(math.MaxInt64), int64(math.MaxInt64)
	if n.CPUMilli > 0 {
		freeCPU = n.FreeCPUMilli() - cpu
	}
	if n.MemoryMiB > 0 {
		freeMem = n.FreeMemoryMiB() - mem
	}
	var st cardState
	first := n.Cards[0].Type
	mixed := false
	for i := range n.Cards {
		if n.Cards[i].Type != first {
			mixed = true
			break
		}
	}
	if !mixed {
		st.fill(n, set, milli, first, false)
		return w.usableOf(&st, w.accessBits(first), freeCPU, freeMem, m)
	}
	var u float64
	for i := range n.Cards {
		t := n.Cards[i].Type
		seen := false
		for j := 0; j < i && !seen; j++ {
			seen = n.Cards[j].Type == t
		}
		if seen {
			continue
		}
		st.fill(n, set, milli, t, true)
		u += w.usableOf(&st, w.accessBits(t), freeCPU, freeMem, m)
	}
	return u
}

func (w *Workload) usableOf(st *cardState, access []uint64, cpu, mem int64, m measure) float64 {
	if cpu < 0 || mem < 0 {
		return 0
	}
	p := st.n // the cards with free >= milli are a prefix of the sorted list
	var u float64
	for i := range w.shapes {
		s := &w.shapes[i]
		for p > 0 && st.free[p-1] < s.milli {
			p--
		}
		if p == 0 {
			break
		}
		if p < s.cards || access[i>>6]&(1<<uint(i&63)) == 0 {
			continue
		}
		var v float64
		if fill := m.shareFill; fill > 0 && s.milli < MilliPerCard {
			f, c := s.fitAndFill(st, p, cpu, mem, m.memory)
			v = (1-fill)*f*float64(st.sum[p]) + fill*c
		} else if f := s.fitWeight(cpu, mem, m.memory); f > 0 {
			v = f * float64(st.sum[p])
		}
		if m.scale != nil {
			v *= m.scale[i]
		}
		u += v
	}
	return u
}

// cardState is the free cores of a node's cards of one type, descending,
// with prefix sums: sum[k] is the free cores of the k freest cards.
type cardState struct {
	n    int
	free [MaxCards]int64
	sum  [MaxCards + 1]int64
}

// fill loads the cards of n (only those of type t when only), taking milli
// from the cards of set.
func (st *cardState) fill(n *Node, set CardSet, milli int64, t string, only bool) {
	st.n = 0
	for i := range n.Cards {
		c := &n.Cards[i]
		if only && c.Type != t {
			continue
		}
		f := c.FreeMilli()
		if c.UsedMilli == 0 && c.UsedMemoryMiB > 0 {
			f = MilliPerCard - 1 // memory taken: no longer a whole card
		}
		if set.Has(i) {
			f -= milli
		}
		// insertion into the descending list
		j := st.n
		for j > 0 && st.free[j-1] < f {
			st.free[j] = st.free[j-1]
			j--
		}
		st.free[j] = f
		st.n++
	}
	st.sum[0] = 0
	for i := 0; i < st.n; i++ {
		st.sum[i+1] = st.sum[i] + st.free[i]
	}
}

// fitAndFill returns, for the share shape on the node, the weight of its
// classes that fit the free CPU (and memory), as fitWeight, and the GPU milli
// they could consume: for each class as many of its shares as the free cores
// of the p cards that hold one, the CPU and the memory allow together. One
// pass over the classes does both.
func (s *shape) fitAndFill(st *cardState, p int, cpu, mem int64, memory bool) (fit, fill float64) {
	var k float64
	for i := 0; i < p; i++ {
		k += quot(st.free[i], s.inv)
	}
	fc, fm := float64(cpu), float64(mem)
	for j, c := range s.cpu {
		if c > cpu {
			break // ascending by CPU: no later class fits either
		}
		if memory && s.mem[j] > mem {
			continue
		}
		n := k
		if ic := s.invCPU[j]; ic > 0 {
			n = min(n, quot2(fc, ic))
		}
		if im := s.invMem[j]; memory && im > 0 {
			n = min(n, quot2(fm, im))
		}
		fit += s.w[j]
		fill += s.w[j] * n
	}
	return fit, fill * float64(s.milli)
}

// quot is floor(a/b) for 0 <= a <= 1000 and inv = 1/b: a small nudge
// absorbs the rounding of inv, which cannot reach the next integer because
// a/b is at least 1/b away from it.
func quot(a int64, inv float64) float64 { return math.Floor(float64(a)*inv + 1e-9) }

// quot2 is floor(a/b) for a host resource a and inv = 1/b, with the same
// nudge relative to the size of a.
func quot2(a, inv float64) float64 {
	if a <= 0 {
		return 0
	}
	return math.Floor(a*inv*(1+1e-12) + 1e-9)
}
