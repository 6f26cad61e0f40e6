package fakegpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

func TestNewResolvesTypes(t *testing.T) {
	cat := catalog.Default()
	for _, name := range cat.TypeNames() {
		typ, _ := cat.Type(name)
		if len(typ.Products) == 0 {
			continue // G2, G3: no product names; tested below
		}
		t.Run(name, func(t *testing.T) {
			lib, err := New([]Card{{Type: name, Count: 1}}, cat, "node")
			if err != nil {
				t.Fatal(err)
			}
			inv, err := discovery.NewDiscoverer(lib).Discover()
			if err != nil {
				t.Fatal(err)
			}
			got, ok := cat.MatchProduct(inv.Cards[0].Product)
			if !ok || got.Name != name {
				t.Fatalf("product %q maps to %v, want %s", inv.Cards[0].Product, got, name)
			}
			if inv.Cards[0].MemoryMiB != typ.MemoryMiB {
				t.Errorf("memory %d MiB, want the catalog's %d", inv.Cards[0].MemoryMiB, typ.MemoryMiB)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	cat := catalog.Default()
	cases := []struct {
		name, wantInMessage string
		cards               []Card
	}{
		{name: "unknown type", cards: []Card{{Type: "X999", Count: 1}}, wantInMessage: "known types"},
		{name: "type without products", cards: []Card{{Type: "G2", Count: 1}}, wantInMessage: "give one with product"},
		{name: "unknown product without memory", cards: []Card{{Product: "NVIDIA Quantum 9000", Count: 1}}, wantInMessage: "memoryMiB must be given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cards, cat, "node")
			if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), tc.wantInMessage) {
				t.Fatalf("New: %v; want ErrBadSpec saying %q", err, tc.wantInMessage)
			}
		})
	}
}

func TestFakeDiscoveryAndSample(t *testing.T) {
	cards, err := ParseSpec("2xV100@30%,1xT4")
	if err != nil {
		t.Fatal(err)
	}
	cards = append(cards, Card{Product: "NVIDIA Quantum 9000", MemoryMiB: 1000, Count: 1, PowerW: ptr(12.5)})
	lib, err := New(cards, catalog.Default(), "gpu-node-1")
	if err != nil {
		t.Fatal(err)
	}
	d := discovery.NewDiscoverer(lib)
	inv, err := d.Discover()
	if err != nil {
		t.Fatal(err)
	}
	if inv.DriverVersion != DriverVersion || inv.CUDADriverVersion != "12.4" || len(inv.Cards) != 4 {
		t.Fatalf("inventory %+v", inv)
	}
	samples, err := d.Sample()
	if err != nil {
		t.Fatal(err)
	}
	v100 := samples[1]
	wantV100 := discovery.Sample{
		Card:               inv.Cards[1],
		UtilizationPercent: discovery.Reading{Value: 30, OK: true},
		MemoryUsedMiB:      discovery.Reading{Value: 9830, OK: true}, // 30% of 32768, rounded
		MemoryFreeMiB:      discovery.Reading{Value: 32768 - 9830, OK: true},
		TemperatureC:       discovery.Reading{Value: 45, OK: true},
		PowerW:             discovery.Reading{Value: 125, OK: true},
	}
	if v100 != wantV100 {
		t.Errorf("V100 sample %+v\nwant %+v", v100, wantV100)
	}
	t4 := samples[2]
	if t4.UtilizationPercent.Value != 0 || t4.MemoryUsedMiB.Value != 0 || t4.TemperatureC.Value != 30 || t4.PowerW.Value != 50 {
		t.Errorf("idle T4 sample %+v", t4)
	}
	if samples[3].PowerW.Value != 12.5 || samples[3].Product != "NVIDIA Quantum 9000" {
		t.Errorf("described product sample %+v", samples[3])
	}
}

func TestFakeUUIDs(t *testing.T) {
	cards := []Card{{Type: "T4", Count: 3}}
	a1, _ := New(cards, catalog.Default(), "node-a")
	a2, _ := New(cards, catalog.Default(), "node-a")
	b, _ := New(cards, catalog.Default(), "node-b")
	seen := map[string]bool{}
	for i := range 3 {
		u1, _ := a1.devices[i].GetUUID()
		u2, _ := a2.devices[i].GetUUID()
		ub, _ := b.devices[i].GetUUID()
		if u1 != u2 {
			t.Errorf("card %d: UUID not stable for one node: %s, %s", i, u1, u2)
		}
		if seen[u1] || seen[ub] || u1 == ub {
			t.Errorf("card %d: UUIDs repeat", i)
		}
		seen[u1], seen[ub] = true, true
		if !strings.HasPrefix(u1, "GPU-") {
			t.Errorf("UUID %q lacks NVML's GPU- prefix", u1)
		}
	}
}
