package placement

import (
	"errors"
	"strings"
	"testing"
)

// hamiNode is a HAMi node of cards cards of 16 GiB with split tasks each.
func hamiNode(name string, cards, split int) *nodeBuilder {
	b := makeNode(name, "T4", cards)
	b.n.Sharing = SharingHAMi
	for i := range b.n.Cards {
		b.n.Cards[i].Slots = split
	}
	return b
}

func (b *nodeBuilder) withTasks(i, tasks int, milli, memMiB int64) *nodeBuilder {
	b.n.Cards[i].UsedSlots, b.n.Cards[i].UsedMilli, b.n.Cards[i].UsedMemoryMiB = tasks, milli, memMiB
	return b
}

// migNode is a node whose device plugin hands out MIG instances.
func migNode(name string, units ...Units) *Node {
	return &Node{Name: name, Sharing: SharingMIG, Units: units, CPUMilli: 64000, MemoryMiB: 256 * 1024,
		Cards: []Card{{Index: 0, Type: "A100", MemoryMiB: 40960, UsedMilli: MilliPerCard}}}
}

func hamiShare(milli, mem int64, types ...string) Request {
	r := Share(milli, mem, types...)
	r.Sharing = SharingHAMi
	return r
}

func TestCheckSharing(t *testing.T) {
	cases := []struct {
		name   string
		node   *Node
		req    Request
		short  Shortfall
		reason string
	}{
		{"hami share on a hami node", hamiNode("h", 2, 10).build(), hamiShare(250, 4096), Fits, ""},
		{"gpu-manager share on a hami node", hamiNode("h", 2, 10).build(), Share(250, 4096), ShortService,
			"h: does not serve vGPU, pod needs 0.25(4096Mi)"},
		{"hami share on a gpu-manager node", makeNode("g", "T4", 2).build(), hamiShare(250, 4096), ShortService,
			"g: does not serve hami shares, pod needs 0.25(HAMi,4096Mi)"},
		{"split count reached", hamiNode("h", 1, 2).withTasks(0, 2, 200, 2048).build(), hamiShare(250, 4096), ShortSlots,
			"h: every T4 card with 250 milli free already holds as many tasks as it may (2), pod needs 0.25(HAMi,4096Mi)"},
		{"another card has a slot", hamiNode("h", 2, 2).withTasks(0, 2, 200, 2048).build(), hamiShare(250, 4096), Fits, ""},
		{"cores short, not slots", hamiNode("h", 1, 10).withTasks(0, 3, 900, 2048).build(), hamiShare(250, 4096), ShortShare, ""},
		{"hami whole card needs an idle card", hamiNode("h", 1, 10).withTasks(0, 1, 100, 1024).build(),
			Request{Cards: 1, Milli: MilliPerCard, VGPU: true, Sharing: SharingHAMi}, ShortCards, "h: 0 free T4, pod needs 1"},
		{"mig profile free", migNode("m", Units{Name: "mig-3g.40gb", Total: 2, Used: 1}), UnitsOf(1, "mig-3g.40gb", SharingMIG), Fits, ""},
		{"mig profile used up", migNode("m", Units{Name: "mig-3g.40gb", Total: 2, Used: 2}), UnitsOf(1, "mig-3g.40gb", SharingMIG), ShortUnits,
			"m: 0 free mig-3g.40gb, pod needs 1"},
		{"mig profile absent", migNode("m", Units{Name: "mig-1g.10gb", Total: 7}), UnitsOf(1, "mig-3g.40gb", SharingMIG), ShortNoUnits,
			"m: has no mig-3g.40gb, pod needs 1(mig-3g.40gb)"},
		{"mig of the wrong type", migNode("m", Units{Name: "mig-3g.40gb", Total: 2}), UnitsOf(1, "mig-3g.40gb", SharingMIG, "H100"), ShortType, ""},
		{"whole cards on a mig node", migNode("m", Units{Name: "mig-3g.40gb", Total: 2}), Whole(1), ShortService, ""},
		{"timeslice replica", &Node{Name: "ts", Sharing: SharingTimeslice, Units: []Units{{Name: "gpu.shared", Total: 8, Used: 7}}},
			UnitsOf(1, "gpu.shared", SharingTimeslice), Fits, ""},
		{"timeslice replicas used up", &Node{Name: "ts", Sharing: SharingTimeslice, Units: []Units{{Name: "gpu.shared", Total: 8, Used: 8}}},
			UnitsOf(1, "gpu.shared", SharingTimeslice), ShortUnits, "ts: 0 free gpu.shared, pod needs 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(); err != nil {
				t.Fatal(err)
			}
			v := Check(tc.node, &tc.req)
			if v.Short != tc.short {
				t.Fatalf("Check = %d (%s), want %d", v.Short, v.Reason(), tc.short)
			}
			if tc.reason != "" && v.Reason() != tc.reason {
				t.Fatalf("Reason = %q, want %q", v.Reason(), tc.reason)
			}
			if Resolvable(tc.node, &tc.req) && (tc.short == ShortService || tc.short == ShortNoUnits || tc.short == ShortType) {
				t.Fatalf("Resolvable for a node that can never serve %s", &tc.req)
			}
		})
	}
}

func TestAssignSlotsAndUnits(t *testing.T) {
	n := hamiNode("h", 1, 2).build()
	r := hamiShare(100, 1024)
	for i := 0; i < 2; i++ {
		if err := n.Assign(&r, CardSetOf(0)); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	if n.Cards[0].UsedSlots != 2 {
		t.Fatalf("UsedSlots = %d, want 2", n.Cards[0].UsedSlots)
	}
	if err := n.Assign(&r, CardSetOf(0)); !errors.Is(err, ErrNoFit) {
		t.Fatalf("a third task on a card split in 2: %v", err)
	}
	if err := n.Unassign(&r, CardSetOf(0)); err != nil || n.Cards[0].UsedSlots != 1 || n.Cards[0].UsedMilli != 100 {
		t.Fatalf("Unassign: %v, card %+v", err, n.Cards[0])
	}

	m := migNode("m", Units{Name: "mig-3g.40gb", Total: 2})
	u := UnitsOf(2, "mig-3g.40gb", SharingMIG)
	if err := m.Assign(&u, CardSetOf(0)); !errors.Is(err, ErrNoFit) {
		t.Fatalf("units with a card set: %v", err)
	}
	if err := m.Assign(&u, 0); err != nil || m.Units[0].Used != 2 {
		t.Fatalf("Assign units: %v, %+v", err, m.Units[0])
	}
	one := UnitsOf(1, "mig-3g.40gb", SharingMIG)
	if err := m.Assign(&one, 0); !errors.Is(err, ErrNoFit) {
		t.Fatalf("a third instance of two: %v", err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unassign(&u, 0); err != nil || m.Units[0].Used != 0 {
		t.Fatalf("Unassign units: %v, %+v", err, m.Units[0])
	}
	if err := m.Unassign(&u, 0); !errors.Is(err, ErrNoFit) {
		t.Fatalf("Unassign of units not held: %v", err)
	}
}

// Every policy packs units onto the node whose pool is fuller (spread the
// other way), and never names cards for them.
func TestPoliciesOnUnits(t *testing.T) {
	fuller := migNode("fuller", Units{Name: "mig-3g.40gb", Total: 2, Used: 1})
	emptier := migNode("emptier", Units{Name: "mig-3g.40gb", Total: 2})
	r := UnitsOf(1, "mig-3g.40gb", SharingMIG)
	reg := Builtin()
	w := NewWorkload([]Class{{Cards: 1, Milli: 500, Weight: 1}})
	for _, name := range reg.Names() {
		p, err := reg.New(name, Config{Workload: w})
		if err != nil {
			t.Fatal(err)
		}
		a, b := p.Evaluate(fuller, &r), p.Evaluate(emptier, &r)
		spread := strings.HasPrefix(name, "spread") || strings.HasPrefix(name, "hami-spread")
		if a.Cards != 0 || b.Cards != 0 {
			t.Errorf("%s: units placed on cards %v %v", name, a.Cards, b.Cards)
		}
		if spread != (b.Score > a.Score) || a.Score == b.Score {
			t.Errorf("%s: fuller %v, emptier %v", name, a.Score, b.Score)
		}
	}
}

func TestAutoDoesNotLearnUnits(t *testing.T) {
	a := NewAuto(AutoOptions{})
	a.Observe(&Request{Cards: 1, Milli: 500})
	before := a.Workload().Len()
	for i := 0; i < 100; i++ {
		a.Observe(&Request{Cards: 1, Milli: MilliPerCard, Unit: "mig-1g.10gb", Sharing: SharingMIG})
	}
	if got := a.Workload().Len(); got != before {
		t.Fatalf("the mix grew from %d to %d classes on units", before, got)
	}
}

// The evaluation cache tells nodes apart by their task slots and units:
// a node whose slots are all taken is not scored from the cache of one
// whose slots are free.
func TestAutoCacheSeesSlotsAndUnits(t *testing.T) {
	a := NewAuto(AutoOptions{})
	r := hamiShare(100, 1024)
	a.Observe(&r)
	free := hamiNode("h", 2, 2).build()
	full := hamiNode("h", 2, 2).withTasks(0, 2, 0, 0).build() // differs in its slots only
	pf, pu := a.Evaluate(free, &r), a.Evaluate(full, &r)
	if pu.Cards != CardSetOf(1) {
		t.Fatalf("on a node whose card 0 has no slot left auto took %v (the free node's choice: %v)", pu.Cards, pf.Cards)
	}
	m1 := migNode("m", Units{Name: "mig-3g.40gb", Total: 2})
	m2 := migNode("m", Units{Name: "mig-3g.40gb", Total: 2, Used: 1})
	if StateKey(m1) == StateKey(m2) {
		t.Fatal("nodes with different units used share a cache key")
	}
	u1, u2 := UnitsOf(1, "mig-3g.40gb", SharingMIG), UnitsOf(1, "mig-1g.10gb", SharingMIG)
	w := NewWorkload(nil)
	if reqKey(&u1, w, nil) == reqKey(&u2, w, nil) || reqKey(&r, w, nil) == reqKey(&Request{Cards: 1, Milli: 100, CardMemoryMiB: 1024}, w, nil) {
		t.Fatal("requests of different units or backends share a cache key")
	}
}

func TestHAMiPolicies(t *testing.T) {
	// card 0 holds 3 tasks, 600 milli; card 1 one task, 100 milli; card 2 idle
	busy := hamiNode("busy", 3, 10).withTasks(0, 3, 600, 6144).withTasks(1, 1, 100, 1024).build()
	idle := hamiNode("idle", 3, 10).build()
	r := hamiShare(200, 2048)
	cases := []struct {
		nodeSpread, cardSpread bool
		wantNode               string
		wantCard               int
	}{
		{false, false, "busy", 0},
		{false, true, "busy", 2},
		{true, false, "idle", 2}, // ties go to the card listed last
		{true, true, "idle", 2},
	}
	for _, tc := range cases {
		p := HAMi(tc.nodeSpread, tc.cardSpread)
		a, b := p.Evaluate(busy, &r), p.Evaluate(idle, &r)
		node, pl := "busy", a
		if b.Score > a.Score {
			node, pl = "idle", b
		}
		if node != tc.wantNode || pl.Cards != CardSetOf(tc.wantCard) {
			t.Errorf("%s: node %s card %v, want %s card %d", p.Name(), node, pl.Cards, tc.wantNode, tc.wantCard)
		}
	}
	// whole cards take idle cards whatever the card policy
	w := Request{Cards: 1, Milli: MilliPerCard, VGPU: true, Sharing: SharingHAMi}
	if set := HAMi(false, false).Evaluate(busy, &w).Cards; set != CardSetOf(2) {
		t.Errorf("whole card on %v", set)
	}
}

func TestParseSharing(t *testing.T) {
	for s := SharingGPUManager; s <= SharingTimeslice; s++ {
		got, err := ParseSharing(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSharing(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseSharing("vgpu"); err == nil {
		t.Error("ParseSharing(vgpu) accepted")
	}
}

// Preempting a task frees its slot: on a card whose split count is reached
// the share fits once one task of lower priority goes.
func TestVictimsFreeTaskSlots(t *testing.T) {
	n := hamiNode("h", 1, 2).withTasks(0, 2, 200, 2048).build()
	holders := []Holder{
		{ID: "low", Priority: 1, Cards: []Hold{{Position: 0, Milli: 100, MemoryMiB: 1024}}},
		{ID: "high", Priority: 100, Cards: []Hold{{Position: 0, Milli: 100, MemoryMiB: 1024}}},
	}
	r := hamiShare(100, 1024)
	got, err := Victims(n, holders, &r, 50)
	if err != nil || len(got) != 1 || holders[got[0]].ID != "low" {
		t.Fatalf("Victims = %v, %v; want the low-priority task", got, err)
	}
}
