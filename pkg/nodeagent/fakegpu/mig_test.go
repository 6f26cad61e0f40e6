package fakegpu

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

// layout is a card's MIG instances as discovery reads them, without UUIDs.
type layout struct {
	profile     string
	start, size int
}

func layoutOf(t *testing.T, m *discovery.MIG) []layout {
	t.Helper()
	if m == nil {
		return nil
	}
	out := []layout{}
	for _, in := range m.Instances {
		if !strings.HasPrefix(in.UUID, "MIG-") {
			t.Errorf("instance %s: uuid %q", in.Profile, in.UUID)
		}
		out = append(out, layout{in.Profile, in.Start, in.Size})
	}
	return out
}

func TestFakeMIGThroughDiscovery(t *testing.T) {
	cat := catalog.Default()
	cases := []struct {
		spec string
		want [][]layout // per card
	}{
		{"A100(3g.40gb|2g.20gb|1g.10gb|1g.10gb)", [][]layout{{{"3g.40gb", 0, 4}, {"2g.20gb", 4, 2}, {"1g.10gb", 6, 1}, {"1g.10gb", 7, 1}}}},
		// Placed aligned to their size, in memory slices: the 1g.10gb goes
		// first at 0, the 3g.40gb at 4.
		{"A100(1g.10gb|3g.40gb)", [][]layout{{{"1g.10gb", 0, 1}, {"3g.40gb", 4, 4}}}},
		// The A100 80GB's media profile is 1g.10gb+me: refused.
		{"A100(1g.20gb+me)", nil},
		{"2xA30(2g.12gb|1g.6gb+me|1g.6gb)", [][]layout{
			{{"2g.12gb", 0, 2}, {"1g.6gb+me", 2, 1}, {"1g.6gb", 3, 1}},
			{{"2g.12gb", 0, 2}, {"1g.6gb+me", 2, 1}, {"1g.6gb", 3, 1}}}},
		{"H200(1g.18gb|3g.71gb)", [][]layout{{{"1g.18gb", 0, 1}, {"3g.71gb", 4, 4}}}},
		{"A100()", [][]layout{{}}},
		{"A100,T4", [][]layout{nil, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			cards, err := ParseSpec(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			lib, err := New(cards, cat, "node")
			if tc.want == nil {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("New: %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			inv, err := discovery.NewDiscoverer(lib).Discover()
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				if got := layoutOf(t, inv.Cards[i].MIG); !reflect.DeepEqual(got, want) {
					t.Errorf("card %d: %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestFakeMIGRefuses(t *testing.T) {
	cat := catalog.Default()
	for spec, want := range map[string]string{
		"T4(1g.5gb)":                                    "type T4 has no MIG profiles",
		"A100(1g.5gb)":                                  `type A100 offers no MIG profile "1g.5gb"`,
		"A100(4g.40gb|4g.40gb)":                         "hold more than its 7 compute slices",
		"A100(3g.40gb|3g.40gb|1g.10gb)":                 "do not fit the memory",
		"A100(7g.80gb|1g.10gb)":                         "hold more than its 7 compute slices",
		"A100(1g.20gb|1g.20gb|1g.20gb|1g.20gb|1g.10gb)": "do not fit the memory",
	} {
		t.Run(spec, func(t *testing.T) {
			cards, err := ParseSpec(spec)
			if err == nil {
				_, err = New(cards, cat, "node")
			}
			if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: %v, want ErrBadSpec saying %q", spec, err, want)
			}
		})
	}
	for _, spec := range []string{"A100(3g.40gb", "A100(big)", "A100(1g.10gb||2g.20gb)", "A100((1g.10gb))"} {
		if _, err := ParseSpec(spec); !errors.Is(err, ErrBadSpec) {
			t.Errorf("ParseSpec(%q) = %v, want ErrBadSpec", spec, err)
		}
	}
}

func TestParseFileMIG(t *testing.T) {
	cards, err := ParseFile([]byte("- type: A100\n  count: 2\n  mig: [3g.40gb, 1g.10gb]\n- type: A30\n  mig: []\n- type: T4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cards[0].MIG == nil || !reflect.DeepEqual(*cards[0].MIG, []string{"3g.40gb", "1g.10gb"}) ||
		cards[1].MIG == nil || len(*cards[1].MIG) != 0 || cards[2].MIG != nil {
		t.Fatalf("cards %+v", cards)
	}
}
