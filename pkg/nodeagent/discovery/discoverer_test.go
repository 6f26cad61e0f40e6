package discovery

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// Card descriptions for a mixed machine; the mock package ships data
// centre cards only, so the older ones are described here.
var (
	v100SXM2 = gpus.Config{Name: "Tesla V100-SXM2-32GB", Architecture: nvml.DEVICE_ARCH_VOLTA, Brand: nvml.BRAND_TESLA, MemoryMB: 32768, CudaMajor: 7, CudaMinor: 0, PciDeviceId: 0x1DB510DE}
	t4       = gpus.Config{Name: "Tesla T4", Architecture: nvml.DEVICE_ARCH_TURING, Brand: nvml.BRAND_TESLA, MemoryMB: 15360, CudaMajor: 7, CudaMinor: 5, PciDeviceId: 0x1EB810DE}
)

// newMixedServer is two V100s and a T4, with the driver of a CUDA 11.8 machine.
func newMixedServer() *server.Server {
	return server.NewServerWithGPUs("520.61.05", "11.520.61.05", 11080, v100SXM2, v100SXM2, t4)
}

func TestDiscoverDGXA100(t *testing.T) {
	srv := dgxa100.New()
	inv, err := NewDiscoverer(srv).Discover()
	if err != nil {
		t.Fatal(err)
	}
	if inv.DriverVersion != "550.54.15" || inv.CUDADriverVersion != "12.4" {
		t.Errorf("versions = %q, CUDA %q", inv.DriverVersion, inv.CUDADriverVersion)
	}
	if len(inv.Cards) != 8 {
		t.Fatalf("%d cards, want 8", len(inv.Cards))
	}
	for i, c := range inv.Cards {
		want := Card{Index: i, UUID: srv.Devices[i].(*server.Device).UUID, Product: "Mock NVIDIA A100-SXM4-40GB", MemoryMiB: 40960}
		if c != want {
			t.Errorf("card %d = %+v, want %+v", i, c, want)
		}
	}
}

func TestDiscoverMixed(t *testing.T) {
	srv := newMixedServer()
	inv, err := NewDiscoverer(srv).Discover()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range inv.Cards {
		got = append(got, c.Product)
	}
	want := []string{"Tesla V100-SXM2-32GB", "Tesla V100-SXM2-32GB", "Tesla T4"}
	if !reflect.DeepEqual(got, want) || inv.CUDADriverVersion != "11.8" {
		t.Fatalf("products %q, CUDA %q", got, inv.CUDADriverVersion)
	}
	if inv.Cards[2].MemoryMiB != 15360 {
		t.Errorf("T4 memory = %d MiB", inv.Cards[2].MemoryMiB)
	}
}

func TestDiscoverOrdersByNVMLIndex(t *testing.T) {
	srv := newMixedServer()
	// Handles in reverse order of the indexes NVML reports, as can happen
	// when CUDA_DEVICE_ORDER differs from the PCI order.
	srv.Devices[0], srv.Devices[2] = srv.Devices[2], srv.Devices[0]
	inv, err := NewDiscoverer(srv).Discover()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range inv.Cards {
		if c.Index != i {
			t.Fatalf("card %d has index %d: not sorted", i, c.Index)
		}
	}
	if inv.Cards[2].Product != "Tesla T4" {
		t.Fatalf("index 2 is %q, want the T4", inv.Cards[2].Product)
	}
}

func TestDiscoverFailures(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(*server.Server)
		want    error
		// wantInit is how many times Init is called over two Discover calls:
		// 2 when the first failure shut NVML down.
		wantInit int
	}{
		{
			name:     "no library",
			breakIt:  func(s *server.Server) { s.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND } },
			want:     ErrLibraryNotFound,
			wantInit: 2,
		},
		{
			name:     "no driver",
			breakIt:  func(s *server.Server) { s.InitFunc = func() nvml.Return { return nvml.ERROR_DRIVER_NOT_LOADED } },
			want:     ErrDriverNotLoaded,
			wantInit: 2,
		},
		{
			name:     "version mismatch",
			breakIt:  func(s *server.Server) { s.InitFunc = func() nvml.Return { return nvml.ERROR_LIB_RM_VERSION_MISMATCH } },
			want:     ErrDriverMismatch,
			wantInit: 2,
		},
		{
			name: "card lost after init",
			breakIt: func(s *server.Server) {
				s.DeviceGetHandleByIndexFunc = func(int) (nvml.Device, nvml.Return) { return nil, nvml.ERROR_GPU_IS_LOST }
			},
			want:     ErrNVML,
			wantInit: 2,
		},
		{
			name: "no permission on memory",
			breakIt: func(s *server.Server) {
				s.Devices[1].(*server.Device).GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{}, nvml.ERROR_NO_PERMISSION }
			},
			want:     ErrNoPermission,
			wantInit: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMixedServer()
			tc.breakIt(srv)
			d := NewDiscoverer(srv)
			for range 2 {
				if _, err := d.Discover(); !errors.Is(err, tc.want) {
					t.Fatalf("Discover: %v, want %v", err, tc.want)
				}
			}
			if got := len(srv.InitCalls()); got != tc.wantInit {
				t.Errorf("Init called %d times, want %d", got, tc.wantInit)
			}
			if len(srv.ShutdownCalls()) > len(srv.InitCalls()) {
				t.Errorf("Shutdown called more often than Init")
			}
		})
	}
}

func TestDiscoverRecovers(t *testing.T) {
	srv := newMixedServer()
	loaded := false
	srv.InitFunc = func() nvml.Return {
		if !loaded {
			return nvml.ERROR_DRIVER_NOT_LOADED
		}
		return nvml.SUCCESS
	}
	d := NewDiscoverer(srv)
	if _, err := d.Discover(); !errors.Is(err, ErrDriverNotLoaded) {
		t.Fatalf("first pass: %v", err)
	}
	loaded = true
	inv, err := d.Discover()
	if err != nil || len(inv.Cards) != 3 {
		t.Fatalf("after the driver loaded: %d cards, %v", len(inv.Cards), err)
	}
	if _, err := d.Discover(); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.InitCalls()); got != 2 {
		t.Errorf("Init called %d times, want 2 (once failing, once for good)", got)
	}
	if err := d.Close(); err != nil || len(srv.ShutdownCalls()) != 1 {
		t.Errorf("Close: %v, %d shutdowns", err, len(srv.ShutdownCalls()))
	}
}

func TestErrorMessageNamesTheCall(t *testing.T) {
	srv := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	_, err := NewDiscoverer(srv).Discover()
	if err == nil || !strings.Contains(err.Error(), "initialising NVML") || !strings.Contains(err.Error(), "ERROR_LIBRARY_NOT_FOUND") {
		t.Fatalf("message %q should name the call and NVML's code", err)
	}
}

func TestFormatCUDAVersion(t *testing.T) {
	cases := map[int]string{12040: "12.4", 11080: "11.8", 12000: "12.0", 10010: "10.1", 13020: "13.2"}
	for in, want := range cases {
		if got := FormatCUDAVersion(in); got != want {
			t.Errorf("FormatCUDAVersion(%d) = %q, want %q", in, got, want)
		}
	}
}
