package sim

import "math/rand/v2"

// rng draws the replay's random numbers. PCG's output is specified, and the
// bounded draw below is ours, so a seed gives the same replay on every Go
// version (the standard library's Shuffle and IntN may change algorithm).
type rng struct{ src *rand.PCG }

func newRNG(seed int64, stream uint64) rng {
	return rng{src: rand.NewPCG(uint64(seed), stream)}
}

// intn returns a uniform integer in [0, n), n > 0, by rejection.
func (r rng) intn(n int) int {
	bound := uint64(n)
	limit := -bound % bound // 2^64 mod n: draws below it would bias
	for {
		v := r.src.Uint64()
		if v >= limit {
			return int(v % bound)
		}
	}
}

// shuffle permutes s uniformly (Fisher-Yates).
func (r rng) shuffle(s []int) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// The streams of one seed: the arrival order, the tie-breaks and the order
// of the nodes for ties are drawn apart, so a policy's ties do not change
// what arrives.
const (
	streamArrivals  uint64 = 1
	streamTies      uint64 = 2
	streamNodeOrder uint64 = 3
)
