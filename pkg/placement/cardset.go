package placement

import (
	"math/bits"
	"strconv"
	"strings"
)

// CardSet is a set of card positions of one node (positions in Node.Cards,
// not device indexes): a bit mask, so that choosing cards never allocates.
type CardSet uint64

// CardSetOf returns the set of the given positions; positions outside
// 0..MaxCards-1 are ignored.
func CardSetOf(positions ...int) CardSet {
	var s CardSet
	for _, p := range positions {
		s = s.With(p)
	}
	return s
}

// With returns the set plus position p.
func (s CardSet) With(p int) CardSet {
	if p < 0 || p >= MaxCards {
		return s
	}
	return s | 1<<uint(p)
}

// Has tells whether position p is in the set.
func (s CardSet) Has(p int) bool { return p >= 0 && p < MaxCards && s&(1<<uint(p)) != 0 }

// Len is the number of cards in the set.
func (s CardSet) Len() int { return bits.OnesCount64(uint64(s)) }

// Max is the highest position in the set, -1 for the empty set.
func (s CardSet) Max() int { return 63 - bits.LeadingZeros64(uint64(s)) }

// Positions lists the positions in increasing order.
func (s CardSet) Positions() []int {
	out := make([]int, 0, s.Len())
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, bits.TrailingZeros64(v))
	}
	return out
}

// Indexes lists the device indexes (Card.Index) of the set's cards on n.
func (s CardSet) Indexes(n *Node) []int {
	out := make([]int, 0, s.Len())
	for _, p := range s.Positions() {
		if p < len(n.Cards) {
			out = append(out, n.Cards[p].Index)
		}
	}
	return out
}

// String writes the positions as "{0,3}".
func (s CardSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range s.Positions() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(p))
	}
	b.WriteByte('}')
	return b.String()
}
