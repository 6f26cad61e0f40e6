package placement

import (
	"math"
	"slices"
)

// typePressure weighs the typed shapes of w by how much their card types are
// in demand relative to what the candidate nodes have free of them: a shape
// limited to types whose free cores are short of what typed requests ask
// weighs more, so that other requests keep off those cards. Untyped shapes
// keep their weight. The returned slice (nil: no typed shape) is indexed
// like w.shapes.
//
// The demand of a type set is the weight of its shapes times their GPU; the
// pressure is demand over the free cores of those types, relative to the
// untyped shapes' demand over all free cores (the whole mix's when no shape
// is untyped), raised to gamma and clamped to [1/limit, limit]. Untyped
// requests can go anywhere and typed ones only to their types, so a type
// is pressed as soon as its own demand fills it faster than the flexible
// demand fills the cluster — not only once it is shorter than the average.
func (w *Workload) typePressure(nodes []*Node, gamma, limit float64) []float64 {
	if !w.typed() || len(nodes) == 0 {
		return nil
	}
	var free TypeFree
	for _, n := range nodes {
		free.Add(n)
	}
	return w.typePressureOf(&free, gamma, limit)
}

// typed tells whether some shape of w is limited to card types.
func (w *Workload) typed() bool {
	for i := range w.shapes {
		if len(w.shapes[i].types) > 0 {
			return true
		}
	}
	return false
}

// TypeFree is what a set of nodes has free, in milli of a card, per card
// type: what auto's type pressure reads of the candidates. A caller that
// already walks the candidates (filter checking each) adds them as it goes,
// so that preparing auto need not walk them again. The zero value is empty.
type TypeFree struct {
	// few types, so short parallel lists beat a map
	types []string
	free  []int64
	total int64
}

// Add adds the free milli of every card of n.
func (f *TypeFree) Add(n *Node) {
	for k := range n.Cards {
		c := &n.Cards[k]
		f.AddType(c.Type, c.FreeMilli())
	}
}

// AddType adds milli free on cards of type t: Add for a node whose cards
// are all of type t, from the sum of their free milli, without reading
// each card.
func (f *TypeFree) AddType(t string, milli int64) {
	f.total += milli
	j := 0
	for j < len(f.types) && f.types[j] != t {
		j++
	}
	if j == len(f.types) {
		f.types = append(f.types, t)
		f.free = append(f.free, 0)
	}
	f.free[j] += milli
}

// Merge adds what o counted.
func (f *TypeFree) Merge(o *TypeFree) {
	for i, t := range o.types {
		f.AddType(t, o.free[i])
	}
}

// typePressureOf is typePressure over what free counted. The counts are
// whole milli, so the sums are exact in any order: the same nodes give the
// same pressure however they were added.
func (w *Workload) typePressureOf(free *TypeFree, gamma, limit float64) []float64 {
	if !w.typed() {
		return nil
	}
	total, all, untyped := float64(free.total), 0.0, 0.0
	for i := range w.shapes {
		s := &w.shapes[i]
		d := s.weight * float64(int64(s.cards)*s.milli)
		all += d
		if len(s.types) == 0 {
			untyped += d
		}
	}
	// the demand the types are pressed against: the flexible one
	demand := untyped
	if demand <= 0 {
		demand = all
	}
	if total <= 0 || demand <= 0 {
		return nil
	}
	mean := demand / total
	scale := make([]float64, len(w.shapes))
	for i := range w.shapes {
		s := &w.shapes[i]
		scale[i] = 1
		if len(s.types) == 0 {
			continue
		}
		// every shape with exactly this type set adds to its demand
		var d, f float64
		for j := range w.shapes {
			if slices.Equal(w.shapes[j].types, s.types) {
				d += w.shapes[j].weight * float64(int64(w.shapes[j].cards)*w.shapes[j].milli)
			}
		}
		for k, ft := range free.types {
			for _, t := range s.types {
				if ft == t {
					f += float64(free.free[k])
				}
			}
		}
		if f <= 0 {
			continue // nothing left for it: its weight changes no placement
		}
		scale[i] = math.Min(limit, math.Max(1/limit, math.Pow(d/f/mean, gamma)))
	}
	return scale
}

// scaleMemo is the scales auto used last, for one mix snapshot.
type scaleMemo struct {
	version uint64
	scale   []float64
}

// stickyScale returns last's scales while every new one is within 10% of
// them, else next: weights a few percent apart place alike, and scales that
// stay put from one request to the next let auto score unchanged nodes from
// its cache.
func stickyScale(last *scaleMemo, version uint64, next []float64) ([]float64, bool) {
	if last == nil || last.version != version || len(last.scale) != len(next) {
		return next, false
	}
	for i, s := range next {
		if r := s / last.scale[i]; r > 1.1 || r < 1/1.1 {
			return next, false
		}
	}
	return last.scale, true
}
