package sim

import (
	"slices"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

func podsOf(milli ...int64) []Pod {
	pods := make([]Pod, len(milli))
	for i, m := range milli {
		if m > 0 {
			pods[i].Request = placement.Request{Cards: 1, Milli: m, VGPU: m < 1000}
		}
	}
	return pods
}

func totalOf(pods []Pod, order []int) int64 {
	var t int64
	for _, i := range order {
		t += pods[i].Request.GPUMilli()
	}
	return t
}

func TestArrivals(t *testing.T) {
	pods := podsOf(1000, 500, 0, 1000, 250, 1000)
	const capacity = 4000 // the list asks 3750
	t.Run("shuffled originals first, then draws until the target", func(t *testing.T) {
		order := Arrivals(pods, capacity, 42, 1.3)
		head := slices.Clone(order[:len(pods)])
		slices.Sort(head)
		if !slices.Equal(head, []int{0, 1, 2, 3, 4, 5}) {
			t.Fatalf("the first %d arrivals %v are not the pods once each", len(pods), order[:len(pods)])
		}
		total := totalOf(pods, order)
		last := pods[order[len(order)-1]].Request.GPUMilli()
		if total < 5200 || total-last >= 5200 {
			t.Fatalf("arrivals ask %d milli (last %d), want the last draw to cross 1.3 x 4000 = 5200", total, last)
		}
	})
	t.Run("the same seed gives the same arrivals", func(t *testing.T) {
		if a, b := Arrivals(pods, capacity, 7, 1.3), Arrivals(pods, capacity, 7, 1.3); !slices.Equal(a, b) {
			t.Fatalf("%v != %v", a, b)
		}
		if a, b := Arrivals(pods, capacity, 7, 1.3), Arrivals(pods, capacity, 8, 1.3); slices.Equal(a, b) {
			t.Fatalf("seeds 7 and 8 give the same arrivals %v", a)
		}
	})
	t.Run("pinned", func(t *testing.T) {
		// pins the generator and the algorithm: a change here changes every
		// published figure
		if got, want := Arrivals(pods, capacity, 42, 1.3), []int{1, 4, 2, 0, 5, 3, 0, 0}; !slices.Equal(got, want) {
			t.Fatalf("Arrivals(seed 42) = %#v, want %#v", got, want)
		}
	})
	t.Run("too much work is cut down to the target", func(t *testing.T) {
		order := Arrivals(pods, capacity, 42, 0.5) // target 2000 of 3750
		total := totalOf(pods, order)
		if total < 2000 || len(order) >= len(pods) {
			t.Fatalf("cut to %v asking %d, want at least 2000 and fewer pods", order, total)
		}
		seen := map[int]bool{}
		for _, i := range order {
			if seen[i] {
				t.Fatalf("pod %d twice in %v", i, order)
			}
			seen[i] = true
		}
	})
	t.Run("no inflation", func(t *testing.T) {
		if order := Arrivals(pods, capacity, 1, 0); len(order) != len(pods) {
			t.Fatalf("inflate 0 changed the list: %v", order)
		}
	})
	t.Run("no GPU pods never loops", func(t *testing.T) {
		if order := Arrivals(podsOf(0, 0), capacity, 1, 1.3); len(order) != 2 {
			t.Fatalf("CPU-only list: %v", order)
		}
	})
}

func TestRNGIntnUniform(t *testing.T) {
	r := newRNG(1, 1)
	var counts [3]int
	for i := 0; i < 30000; i++ {
		counts[r.intn(3)]++
	}
	for k, c := range counts {
		if c < 9500 || c > 10500 {
			t.Fatalf("intn(3) gave %d %d times in 30000 draws: %v", k, c, counts)
		}
	}
}
