package placement

import (
	"errors"
	"testing"
)

func TestAssignUnassign(t *testing.T) {
	n := makeNode("n", "T4", 2).withHost(8000, 0, 8192, 0).build()
	share := req(Share(600, 4096), 1000, 1024)
	if err := n.Assign(share, CardSetOf(1)); err != nil {
		t.Fatal(err)
	}
	if c := n.Cards[1]; c.UsedMilli != 600 || c.UsedMemoryMiB != 4096 || n.UsedCPUMilli != 1000 || n.UsedMemoryMiB != 1024 {
		t.Fatalf("after Assign: card %+v, node CPU %d memory %d", c, n.UsedCPUMilli, n.UsedMemoryMiB)
	}
	refused := []struct {
		name string
		r    *Request
		set  CardSet
	}{
		{"a second share beyond the card", req(Share(500, 0), 0, 0), CardSetOf(1)},
		{"a whole card that holds a share", req(Whole(1), 0, 0), CardSetOf(1)},
		{"two cards for one", req(Whole(1), 0, 0), CardSetOf(0, 1)},
		{"a card the node lacks", req(Whole(1), 0, 0), CardSetOf(5)},
		{"a card of another type", req(Whole(1, "V100"), 0, 0), CardSetOf(0)},
		{"CPU beyond the node", req(Whole(1), 7001, 0), CardSetOf(0)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := *n
			before.Cards = append([]Card(nil), n.Cards...)
			err := n.Assign(tc.r, tc.set)
			if !errors.Is(err, ErrNoFit) {
				t.Fatalf("Assign = %v, want ErrNoFit", err)
			}
			for i := range n.Cards {
				if n.Cards[i] != before.Cards[i] || n.UsedCPUMilli != before.UsedCPUMilli {
					t.Fatalf("a refused Assign changed the node")
				}
			}
		})
	}
	if err := n.Unassign(share, CardSetOf(1)); err != nil {
		t.Fatal(err)
	}
	if c := n.Cards[1]; c.UsedMilli != 0 || c.UsedMemoryMiB != 0 || n.UsedCPUMilli != 0 || n.UsedMemoryMiB != 0 {
		t.Fatalf("after Unassign: card %+v, node CPU %d memory %d", c, n.UsedCPUMilli, n.UsedMemoryMiB)
	}
	if err := n.Unassign(share, CardSetOf(1)); !errors.Is(err, ErrNoFit) {
		t.Fatalf("a second Unassign = %v, want ErrNoFit", err)
	}
}

func TestNodeValidate(t *testing.T) {
	if err := makeNode("n", "T4", 2).withUsed(0, 1000).build().Validate(); err != nil {
		t.Fatal(err)
	}
	over := makeNode("n", "T4", 1).build()
	over.Cards[0].UsedMilli = 1001
	if err := over.Validate(); !errors.Is(err, ErrInvalidNode) {
		t.Fatalf("over-committed card: %v, want ErrInvalidNode", err)
	}
	big := makeNode("n", "T4", MaxCards+1).build()
	if err := big.Validate(); !errors.Is(err, ErrInvalidNode) {
		t.Fatalf("too many cards: %v, want ErrInvalidNode", err)
	}
}

func TestCardSet(t *testing.T) {
	s := CardSetOf(3, 0, 63, 64, -1)
	if s.Len() != 3 || !s.Has(0) || !s.Has(3) || !s.Has(63) || s.Has(1) || s.Max() != 63 {
		t.Fatalf("CardSetOf(3,0,63,64,-1) = %v", s)
	}
	if got := s.String(); got != "{0,3,63}" {
		t.Errorf("String = %q", got)
	}
	n := makeNode("n", "T4", 4).build()
	n.Cards[3].Index = 7
	if got := CardSetOf(0, 3).Indexes(n); len(got) != 2 || got[0] != 0 || got[1] != 7 {
		t.Errorf("Indexes = %v, want [0 7]", got)
	}
	if CardSet(0).Max() != -1 || CardSet(0).String() != "{}" {
		t.Errorf("empty set: Max %d String %q", CardSet(0).Max(), CardSet(0).String())
	}
}
