package load

import (
	"testing"
	"time"
)

func TestNewSnapshot(t *testing.T) {
	at := time.Unix(100, 0)
	s := NewSnapshot(at,
		CardSample{Node: "n1", Index: 0, UUID: "GPU-a", Load: CardLoad{Util: 10, HasUtil: true}},
		CardSample{Node: "n1", Index: 1, Load: CardLoad{Util: 20, HasUtil: true}},
		CardSample{Node: "n2", Index: 0, Load: CardLoad{MemoryUsedMiB: 5, HasMemory: true}},
	)
	if s.At != at || s.Nodes() != 2 || s.Cards() != 3 {
		t.Fatalf("snapshot at %v with %d nodes, %d cards", s.At, s.Nodes(), s.Cards())
	}
	n1, _ := s.Node("n1")
	cases := []struct {
		name  string
		index int
		uuid  string
		util  float64
		found bool
	}{
		{"uuid wins over index", 5, "GPU-a", 10, true},
		{"index", 1, "", 20, true},
		{"unknown uuid falls back to index", 1, "GPU-z", 20, true},
		{"unknown", 3, "", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := n1.Card(tc.index, tc.uuid)
			if ok != tc.found || got.Util != tc.util {
				t.Fatalf("Card(%d, %q) = %+v, %v", tc.index, tc.uuid, got, ok)
			}
		})
	}
	var none *Snapshot
	if _, ok := none.Node("n1"); ok || none.Cards() != 0 || none.Nodes() != 0 {
		t.Fatal("a nil snapshot has data")
	}
}
