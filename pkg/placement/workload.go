package placement

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Class is one kind of request in a workload mix, with its weight (a count
// or a probability).
type Class struct {
	Cards     int
	Milli     int64
	Types     []string
	CPUMilli  int64
	MemoryMiB int64
	Weight    float64
}

// ClassOf is the class of r, with weight 1. Card memory is not part of it:
// fragmentation is measured on cores.
func ClassOf(r *Request) Class {
	return Class{Cards: r.Cards, Milli: r.Milli, Types: r.Types, CPUMilli: r.CPUMilli, MemoryMiB: r.MemoryMiB, Weight: 1}
}

// Tally counts requests by class. The zero value is ready to use; it is not
// safe for concurrent use.
type Tally struct {
	index   map[string]int
	classes []Class
	total   float64
	key     []byte
}

// Add counts r with weight w and tells whether its class is new.
func (t *Tally) Add(r *Request, w float64) bool {
	t.key = appendClassKey(t.key[:0], r.Cards, r.Milli, r.Types, r.CPUMilli, r.MemoryMiB)
	t.total += w
	if i, ok := t.index[string(t.key)]; ok {
		t.classes[i].Weight += w
		return false
	}
	if t.index == nil {
		t.index = make(map[string]int)
	}
	c := ClassOf(r)
	c.Types = slices.Clone(r.Types)
	c.Weight = w
	t.index[string(t.key)] = len(t.classes)
	t.classes = append(t.classes, c)
	return true
}

// Scale multiplies every weight by f (0 < f <= 1): how old observations fade.
func (t *Tally) Scale(f float64) {
	for i := range t.classes {
		t.classes[i].Weight *= f
	}
	t.total *= f
}

// Total is the sum of the weights.
func (t *Tally) Total() float64 { return t.total }

// Len is the number of distinct classes.
func (t *Tally) Len() int { return len(t.classes) }

// Top returns the most frequent classes that together reach coverage (0..1]
// of the total weight — at most limit of them when limit > 0 — heaviest
// first, with weights renormalised to sum 1: the "typical" requests a
// fragmentation measure is taken against. Ties in weight are broken by the
// class's shape so that the result is deterministic.
func (t *Tally) Top(coverage float64, limit int) []Class {
	if t.total <= 0 {
		return nil
	}
	order := make([]int, len(t.classes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ca, cb := &t.classes[a], &t.classes[b]
		if c := cmp.Compare(cb.Weight, ca.Weight); c != 0 {
			return c
		}
		return compareClass(ca, cb)
	})
	var out []Class
	var sum float64
	for _, i := range order {
		if sum >= coverage*t.total*(1-1e-12) || (limit > 0 && len(out) == limit) {
			break
		}
		out = append(out, t.classes[i])
		sum += t.classes[i].Weight
	}
	for i := range out {
		out[i].Weight /= sum
	}
	return out
}

func compareClass(a, b *Class) int {
	return cmp.Or(
		cmp.Compare(a.Cards, b.Cards),
		cmp.Compare(a.Milli, b.Milli),
		cmp.Compare(a.CPUMilli, b.CPUMilli),
		cmp.Compare(a.MemoryMiB, b.MemoryMiB),
		slices.Compare(a.Types, b.Types),
	)
}

func appendClassKey(b []byte, cards int, milli int64, types []string, cpu, mem int64) []byte {
	b = strconv.AppendInt(b, int64(cards), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, milli, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, cpu, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, mem, 10)
	for _, t := range types {
		b = append(b, '/')
		b = append(b, t...)
	}
	return b
}

// Workload is a mix of request classes compiled for measuring fragmentation
// fast. It is immutable, so one value may be shared by concurrent callers.
type Workload struct {
	shapes  []shape  // GPU classes grouped by cards, milli and types; milli ascending
	open    []uint64 // bit set of the shapes any card type may serve
	access  map[string][]uint64
	classes int
	total   float64
	version uint64 // set by the learner: which snapshot this is
}

// shape groups the classes that ask for the same cards, differing only in
// CPU and memory.
type shape struct {
	cards  int
	milli  int64
	types  []string // allowed card types; empty = any
	weight float64
	// members ascending by CPU; cum[i] is the weight of members 0..i;
	// invCPU and invMem are 1/CPU and 1/memory (0 for none), so that
	// counting how many fit multiplies instead of dividing.
	cpu    []int64
	mem    []int64
	w      []float64
	cum    []float64
	invCPU []float64
	invMem []float64
	inv    float64 // 1/milli
}

// NewWorkload compiles classes (weights need not be normalised; classes of
// weight <= 0 are dropped). CPU-only classes count in the total weight but
// can use no GPU, so for them every free card is a fragment.
func NewWorkload(classes []Class) *Workload {
	w := &Workload{access: map[string][]uint64{}}
	type key struct {
		cards int
		milli int64
		types string
	}
	byKey := map[key]int{}
	var typesOf [][]string
	for _, c := range classes {
		if c.Weight <= 0 {
			continue
		}
		w.total += c.Weight
		w.classes++
		if c.Cards == 0 {
			continue
		}
		k := key{c.Cards, c.Milli, strings.Join(c.Types, "|")}
		i, ok := byKey[k]
		if !ok {
			i = len(w.shapes)
			byKey[k] = i
			w.shapes = append(w.shapes, shape{cards: c.Cards, milli: c.Milli})
			typesOf = append(typesOf, c.Types)
		}
		s := &w.shapes[i]
		s.weight += c.Weight
		s.cpu = append(s.cpu, c.CPUMilli)
		s.mem = append(s.mem, c.MemoryMiB)
		s.w = append(s.w, c.Weight)
	}
	if w.total <= 0 {
		return w
	}
	order := make([]int, len(w.shapes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(w.shapes[a].milli, w.shapes[b].milli), cmp.Compare(w.shapes[a].cards, w.shapes[b].cards))
	})
	shapes := make([]shape, len(order))
	types := make([][]string, len(order))
	for to, from := range order {
		shapes[to], types[to] = w.shapes[from], typesOf[from]
	}
	w.shapes = shapes
	words := (len(shapes) + 63) / 64
	w.open = make([]uint64, words)
	for i := range shapes {
		s := &shapes[i]
		s.types = types[i]
		s.normalise(w.total)
		if len(types[i]) == 0 {
			w.open[i/64] |= 1 << uint(i%64)
		}
	}
	for i := range shapes {
		for _, t := range types[i] {
			if _, ok := w.access[t]; !ok {
				w.access[t] = slices.Clone(w.open)
			}
			w.access[t][i/64] |= 1 << uint(i%64)
		}
	}
	return w
}

func (s *shape) normalise(total float64) {
	idx := make([]int, len(s.cpu))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.cpu[a], s.cpu[b]) })
	cpu, mem, w, cum := make([]int64, len(idx)), make([]int64, len(idx)), make([]float64, len(idx)), make([]float64, len(idx))
	var sum float64
	for to, from := range idx {
		cpu[to], mem[to], w[to] = s.cpu[from], s.mem[from], s.w[from]/total
		sum += w[to]
		cum[to] = sum
	}
	s.cpu, s.mem, s.w, s.cum = cpu, mem, w, cum
	s.invCPU, s.invMem = make([]float64, len(idx)), make([]float64, len(idx))
	for i := range idx {
		if cpu[i] > 0 {
			s.invCPU[i] = 1 / float64(cpu[i])
		}
		if mem[i] > 0 {
			s.invMem[i] = 1 / float64(mem[i])
		}
	}
	s.inv = 1 / float64(s.milli)
	s.weight /= total
}

// Len is the number of classes the workload holds.
func (w *Workload) Len() int {
	if w == nil {
		return 0
	}
	return w.classes
}

// accessBits returns which shapes a card of type t may serve.
func (w *Workload) accessBits(t string) []uint64 {
	if b, ok := w.access[t]; ok {
		return b
	}
	return w.open
}

// fitWeight is the weight of the shape's classes whose CPU (and, when the
// workload counts it, memory) fit what the node has free.
func (s *shape) fitWeight(cpu, mem int64, memory bool) float64 {
	if !memory {
		// members are ascending by CPU: the fitting ones are a prefix.
		lo, hi := 0, len(s.cpu)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.cpu[m] <= cpu {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == 0 {
			return 0
		}
		return s.cum[lo-1]
	}
	var f float64
	for i, c := range s.cpu {
		if c > cpu {
			break
		}
		if s.mem[i] <= mem {
			f += s.w[i]
		}
	}
	return f
}
