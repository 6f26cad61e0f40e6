package placement

import "math"

// typePressure weighs the typed shapes of w by how much their card types are
// in demand relative to what the candidate nodes have free of them: a shape
// limited to types whose free cores are short of what typed requests ask
// weighs more, so that other requests keep off those cards. Untyped shapes
// keep their weight. The returned slice (nil: no typed shape) is indexed
// like w.shapes.
//
// The demand of a type set is the weight of its shapes times their GPU; the
// pressure is demand over the free cores of those types, relative to the
// whole mix's demand over all free cores, raised to gamma and clamped to
// [1/limit, limit].
func (w *Workload) typePressure(nodes []*Node, gamma, limit float64) []float64 {
	typed := false
	for i := range w.shapes {
		typed = typed || len(w.shapes[i].types) > 0
	}
	if !typed || len(nodes) == 0 {
		return nil
	}
	// free cores per card type; few types, so a short list beats a map
	type free struct {
		t string
		f float64
	}
	var frees []free
	var total, demand float64
	for _, n := range nodes {
		for k := range n.Cards {
			c := &n.Cards[k]
			f := float64(c.FreeMilli())
			total += f
			j := 0
			for j < len(frees) && frees[j].t != c.Type {
				j++
			}
			if j == len(frees) {
				frees = append(frees, free{t: c.Type})
			}
			frees[j].f += f
		}
	}
	for i := range w.shapes {
		s := &w.shapes[i]
		demand += s.weight * float64(int64(s.cards)*s.milli)
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
			if sameTypes(w.shapes[j].types, s.types) {
				d += w.shapes[j].weight * float64(int64(w.shapes[j].cards)*w.shapes[j].milli)
			}
		}
		for _, fr := range frees {
			for _, t := range s.types {
				if fr.t == t {
					f += fr.f
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

func sameTypes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
