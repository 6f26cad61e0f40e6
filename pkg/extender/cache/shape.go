package cache

import (
	"strings"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Shape is what a refusal's wording depends on, summarised when the
// snapshot is built so that filter words the refusal of a node once for
// every node alike: placement's reasons are functions of the cards and
// host resources, never of the node's name.
type Shape struct {
	// Types are the node's distinct card types in the order of its cards,
	// joined by "|", as placement names them in its reasons.
	Types string
	// Uniform tells whether all the cards are of one type.
	Uniform bool
	// Idle counts the idle cards; MaxFree and MaxFreeMem are the free milli
	// and memory of the first card with the most free milli.
	Idle       int64
	MaxFree    int64
	MaxFreeMem int64
	// FreeMilli is the free milli of all the cards together: with Uniform,
	// what the node has free of its one type (placement.TypeFree).
	FreeMilli int64
}

// ShapeOf summarises n's cards.
func ShapeOf(n *placement.Node) Shape {
	var s Shape
	var seen []string
	s.Uniform = true
	s.MaxFree = -1
	for i := range n.Cards {
		c := &n.Cards[i]
		if i > 0 && c.Type != n.Cards[0].Type {
			s.Uniform = false
		}
		if !containsString(seen, c.Type) {
			seen = append(seen, c.Type)
		}
		if c.Idle() {
			s.Idle++
		}
		s.FreeMilli += c.FreeMilli()
		if c.FreeMilli() > s.MaxFree {
			s.MaxFree, s.MaxFreeMem = c.FreeMilli(), c.FreeMemoryMiB()
		}
	}
	s.Types = strings.Join(seen, "|")
	return s
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
