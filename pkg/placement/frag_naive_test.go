package placement

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveFrag is F_n(M) written the way the ATC '23 paper defines it, class by
// class, to check the fast form against.
func naiveFrag(n *Node, classes []Class, memory bool) float64 {
	var total float64
	for _, c := range classes {
		total += c.Weight
	}
	var free int64
	for i := range n.Cards {
		free += n.Cards[i].FreeMilli()
	}
	var f float64
	for _, c := range classes {
		p := c.Weight / total
		if c.Cards == 0 {
			f += p * float64(free)
			continue
		}
		cpuOK := n.CPUMilli == 0 || c.CPUMilli <= n.FreeCPUMilli()
		memOK := !memory || n.MemoryMiB == 0 || c.MemoryMiB <= n.FreeMemoryMiB()
		// per card type group
		var frag int64
		for _, t := range distinctTypes(n) {
			var groupFree, small int64
			fit := 0
			for i := range n.Cards {
				cd := &n.Cards[i]
				if cd.Type != t {
					continue
				}
				groupFree += cd.FreeMilli()
				if cd.FreeMilli() >= c.Milli {
					fit++
				} else {
					small += cd.FreeMilli()
				}
			}
			req := Request{Types: c.Types}
			if !req.allows(t) || !cpuOK || !memOK || fit < c.Cards {
				frag += groupFree
			} else {
				frag += small
			}
		}
		f += p * float64(frag)
	}
	return f
}

func distinctTypes(n *Node) []string {
	var out []string
	for i := range n.Cards {
		if !typeSeenBefore(n, i) {
			out = append(out, n.Cards[i].Type)
		}
	}
	return out
}

func randomClasses(r *rand.Rand) []Class {
	milli := []int64{50, 160, 230, 320, 470, 500, 650, 810, 1000}
	types := [][]string{nil, nil, nil, {"T4"}, {"V100", "P100"}}
	var out []Class
	for k := r.IntN(12) + 1; k > 0; k-- {
		c := Class{CPUMilli: int64(r.IntN(16)) * 1000, MemoryMiB: int64(r.IntN(64)) * 1024, Weight: float64(r.IntN(20) + 1), Types: types[r.IntN(len(types))]}
		switch r.IntN(4) {
		case 0: // CPU only
			c.Types = nil
		case 1:
			c.Cards, c.Milli = 1, milli[r.IntN(len(milli))]
		default:
			c.Cards, c.Milli = 1<<r.IntN(4), 1000
		}
		out = append(out, c)
	}
	return out
}

func randomNode(r *rand.Rand) Node {
	types := []string{"T4", "V100", "P100"}
	n := Node{Name: "n", WholeCards: true, VGPU: true, CPUMilli: 64000, MemoryMiB: 256 * 1024}
	n.UsedCPUMilli = int64(r.IntN(65)) * 1000
	n.UsedMemoryMiB = int64(r.IntN(257)) * 1024
	k := r.IntN(8) + 1
	mixed := r.IntN(4) == 0
	t := types[r.IntN(len(types))]
	for i := 0; i < k; i++ {
		if mixed {
			t = types[r.IntN(len(types))]
		}
		used := int64(0)
		switch r.IntN(3) {
		case 1:
			used = 1000
		case 2:
			used = int64(r.IntN(1000))
		}
		n.Cards = append(n.Cards, Card{Index: i, Type: t, UsedMilli: used})
	}
	return n
}

// The fast fragmentation (free - usable, shapes and prefix sums) equals the
// paper's per-class definition.
func TestFragmentationMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		classes := randomClasses(r)
		n := randomNode(r)
		for _, memory := range []bool{false, true} {
			w := NewWorkload(classes)
			var free int64
			for k := range n.Cards {
				free += n.Cards[k].FreeMilli()
			}
			got := float64(free) - w.usable(&n, 0, 0, 0, 0, measure{memory: memory})
			want := naiveFrag(&n, classes, memory)
			if math.Abs(got-want) > 1e-6*math.Max(1, want) {
				t.Fatalf("case %d memory=%v: Fragmentation = %v, per-class definition = %v\nnode %+v\nclasses %+v", i, memory, got, want, n, classes)
			}
		}
	}
}

// naiveUsable is usable for a uniform node written out class by class: whole
// classes count the free cores of the cards one request fits (the paper);
// share classes blend in, with weight fill, how much of the node they could
// consume.
func naiveUsable(n *Node, classes []Class, memory bool, fill float64) float64 {
	var total float64
	for _, c := range classes {
		total += c.Weight
	}
	var u float64
	for _, c := range classes {
		typed := Request{Types: c.Types}
		if c.Cards == 0 || !typed.allows(n.Cards[0].Type) {
			continue
		}
		p := c.Weight / total
		freeCPU, freeMem := n.FreeCPUMilli(), n.FreeMemoryMiB()
		if c.CPUMilli > freeCPU || (memory && c.MemoryMiB > freeMem) {
			continue
		}
		fit, sum, k := 0, int64(0), int64(0)
		for i := range n.Cards {
			if f := n.Cards[i].FreeMilli(); f >= c.Milli {
				fit++
				sum += f
				k += f / c.Milli
			}
		}
		if fit < c.Cards {
			continue
		}
		if c.Milli == MilliPerCard {
			u += p * float64(sum)
			continue
		}
		if c.CPUMilli > 0 {
			k = min(k, freeCPU/c.CPUMilli)
		}
		if memory && c.MemoryMiB > 0 {
			k = min(k, freeMem/c.MemoryMiB)
		}
		u += p * ((1-fill)*float64(sum) + fill*float64(k*c.Milli))
	}
	return u
}

func TestShareFillMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		classes := randomClasses(r)
		n := randomNode(r)
		for k := range n.Cards {
			n.Cards[k].Type = n.Cards[0].Type
		}
		for _, fill := range []float64{0.5, 1} {
			w := NewWorkload(classes)
			got := w.usable(&n, 0, 0, 0, 0, measure{memory: true, shareFill: fill})
			want := naiveUsable(&n, classes, true, fill)
			if math.Abs(got-want) > 1e-6*math.Max(1, want) {
				t.Fatalf("case %d fill %v: usable = %v, class by class = %v\nnode %+v\nclasses %+v", i, fill, got, want, n, classes)
			}
		}
	}
}
