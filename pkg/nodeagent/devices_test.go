package nodeagent

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/fakegpu"
)

func discover(t *testing.T, srv *server.Server) discovery.Inventory {
	t.Helper()
	inv, err := discovery.NewDiscoverer(srv).Discover()
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestClassifyDGXA100(t *testing.T) {
	cat := catalog.Default()
	// As shipped, go-nvml's DGX A100 mock names its cards "Mock NVIDIA
	// A100-SXM4-40GB", which no pattern of the catalog matches: the agent
	// must say so, and type them by the product name rather than drop them.
	shipped := Classify(discover(t, dgxa100.New()), cat)
	if len(shipped.Devices) != 8 || len(shipped.Unknown) != 8 || !shipped.Labelable() || shipped.Devices[0].Type != "MOCK-NVIDIA-A100-SXM4-40GB" {
		t.Fatalf("mock product names classified as %+v", shipped)
	}
	step := devicesStep(shipped, cat)
	if step.Verdict != Ready || step.Reason != "ProductNotInCatalog" || !strings.Contains(step.Message, `card 0 "Mock NVIDIA A100-SXM4-40GB"`) {
		t.Fatalf("devices step = %+v", step)
	}

	// With the names the driver reports on a real DGX A100 (40GB cards).
	srv := dgxa100.New()
	for _, d := range srv.Devices {
		d.(*server.Device).Config.Name = "NVIDIA A100-SXM4-40GB"
	}
	g := Classify(discover(t, srv), cat)
	if !g.Labelable() || len(g.Devices) != 8 {
		t.Fatalf("classified as %+v", g)
	}
	if typ, ok := g.SingleType(); !ok || typ != "A100-40GB" {
		t.Fatalf("type %q, %v; want A100-40GB", typ, ok)
	}
	want := api.Device{Index: 5, UUID: srv.Devices[5].(*server.Device).UUID, Type: "A100-40GB", Product: "NVIDIA A100-SXM4-40GB", MemoryMiB: 40960}
	if g.Devices[5] != want {
		t.Fatalf("device 5 = %+v, want %+v", g.Devices[5], want)
	}
	if g.MinMemoryMiB() != 40960 {
		t.Errorf("min memory %d", g.MinMemoryMiB())
	}
	if s := devicesStep(g, cat); s.Verdict != Ready || s.Reason != "CardsFound" || s.Message != "8 cards: 8xA100-40GB (NVIDIA A100-SXM4-40GB, 40960 MiB)" {
		t.Fatalf("devices step = %+v", s)
	}
}

func TestClassifyMixed(t *testing.T) {
	cat := catalog.Default()
	srv := newMockServer(cfgV100x32, cfgV100x16, cfgT4, cfgV100x32)
	g := Classify(discover(t, srv), cat)
	var types []string
	for _, d := range g.Devices {
		types = append(types, d.Type)
	}
	if want := []string{"V100", "V100-16GB", "T4", "V100"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("types %q, want %q", types, want)
	}
	if want := []TypeCount{{"V100", 2}, {"T4", 1}, {"V100-16GB", 1}}; !reflect.DeepEqual(g.Types, want) {
		t.Fatalf("type counts %+v, want %+v", g.Types, want)
	}
	if _, ok := g.SingleType(); ok {
		t.Fatal("a mixed node reported one type")
	}
	if !g.Labelable() || g.MinMemoryMiB() != 15360 {
		t.Fatalf("labelable %v, min memory %d", g.Labelable(), g.MinMemoryMiB())
	}
	s := devicesStep(g, cat)
	if s.Verdict != Ready || s.Reason != "MixedTypes" || !strings.Contains(s.Message, "2xV100, 1xT4, 1xV100-16GB") {
		t.Fatalf("devices step = %+v", s)
	}
}

// TestClassifyPartlyUnknown: a product the catalog does not list is typed
// by its product name and used, not left out (issue 14: a card sold after
// the catalog was written must not make a dead node).
func TestClassifyPartlyUnknown(t *testing.T) {
	cat := catalog.Default()
	srv := newMockServer(cfgT4, cfgT4)
	srv.Devices[1].(*server.Device).Config.Name = "NVIDIA Quantum 9000"
	g := Classify(discover(t, srv), cat)
	if !g.Labelable() || len(g.Devices) != 2 || len(g.Unknown) != 1 || g.Devices[1].Type != "QUANTUM-9000" {
		t.Fatalf("classified as %+v", g)
	}
	s := devicesStep(g, cat)
	if s.Verdict != Ready || s.Reason != "ProductNotInCatalog" || !strings.Contains(s.Message, `card 1 "NVIDIA Quantum 9000" not in the catalog: typed QUANTUM-9000`) {
		t.Fatalf("devices step = %+v", s)
	}
}

func TestDevicesStepNoCards(t *testing.T) {
	s := devicesStep(Classify(discovery.Inventory{DriverVersion: "550"}, catalog.Default()), catalog.Default())
	if s.Verdict != NotReady || s.Reason != "NoCards" {
		t.Fatalf("devices step = %+v", s)
	}
}

func TestDriverStep(t *testing.T) {
	cases := []struct {
		err        error
		wantReason string
	}{
		{nil, "DriverLoaded"},
		{fmt.Errorf("%w: x", discovery.ErrLibraryNotFound), "NVMLLibraryNotFound"},
		{fmt.Errorf("%w: x", discovery.ErrDriverNotLoaded), "DriverNotLoaded"},
		{fmt.Errorf("%w: x", discovery.ErrDriverMismatch), "DriverVersionMismatch"},
		{fmt.Errorf("%w: x", discovery.ErrNoPermission), "NoPermission"},
		{errors.New("something else"), "NVMLError"},
	}
	for _, tc := range cases {
		t.Run(tc.wantReason, func(t *testing.T) {
			s := driverStep(discovery.Inventory{DriverVersion: "550.54.15", CUDADriverVersion: "12.4"}, tc.err)
			if s.Reason != tc.wantReason || (s.Verdict == Ready) != (tc.err == nil) {
				t.Fatalf("driver step = %+v", s)
			}
			if tc.err == nil && s.Message != "NVIDIA driver 550.54.15, CUDA 12.4" {
				t.Errorf("message %q", s.Message)
			}
			if tc.err != nil && !strings.Contains(s.Message, tc.err.Error()) {
				t.Errorf("message %q lost the error", s.Message)
			}
		})
	}
}

func TestMIGCardsReachTheAnnotation(t *testing.T) {
	cat := catalog.Default()
	cards, err := fakegpu.ParseSpec("A100(3g.40gb|1g.10gb+me),A100")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := fakegpu.New(cards, cat, "n")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := discovery.NewDiscoverer(lib).Discover()
	if err != nil {
		t.Fatal(err)
	}
	g := Classify(inv, cat)
	enc, err := api.EncodeDevices(g.Devices)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := api.DecodeDevices(enc)
	if err != nil {
		t.Fatal(err)
	}
	if ds[1].MIG != nil || ds[0].MIG == nil || len(ds[0].MIG.Instances) != 2 {
		t.Fatalf("devices %s", enc)
	}
	in := ds[0].MIG.Instances
	if in[0].Profile != "3g.40gb" || in[0].Start != 0 || in[0].Size != 4 || in[1].Profile != "1g.10gb+me" || in[1].Start != 4 || in[1].Size != 1 ||
		!strings.HasPrefix(in[0].UUID, "MIG-") || in[0].UUID == in[1].UUID {
		t.Errorf("MIG instances %+v", in)
	}
	if s := devicesStep(g, cat); s.Verdict != Ready || !strings.Contains(s.Message, "MIG: card 0 3g.40gb, 1g.10gb+me") {
		t.Errorf("devices step %+v", s)
	}
}
