package discovery

import (
	"errors"
	"reflect"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// migServer is an A100 80GB in MIG mode with a 3g.40gb, a 2g.20gb and a
// 1g.10gb+me instance; the first two have MIG devices (a compute instance
// each), the last has none yet.
func migServer(t *testing.T) *server.Server {
	t.Helper()
	srv := server.NewServerWithGPUs("550.54.15", "12.550.54.15", 12040, gpus.A100_SXM4_80GB, gpus.A100_SXM4_80GB)
	dev := srv.Devices[0].(*server.Device)
	if ret, _ := dev.SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		t.Fatal(ret)
	}
	create := func(profile int, start, size uint32) int {
		info, ret := dev.GetGpuInstanceProfileInfo(profile)
		if ret != nvml.SUCCESS {
			t.Fatalf("profile %d: %v", profile, ret)
		}
		gi, ret := dev.CreateGpuInstanceWithPlacement(&info, &nvml.GpuInstancePlacement{Start: start, Size: size})
		if ret != nvml.SUCCESS {
			t.Fatal(ret)
		}
		gii, _ := gi.GetInfo()
		return int(gii.Id)
	}
	three := create(nvml.GPU_INSTANCE_PROFILE_3_SLICE, 0, 4)
	two := create(nvml.GPU_INSTANCE_PROFILE_2_SLICE, 4, 2)
	create(nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1, 6, 1)
	migDevices := map[int]*mock.Device{
		0: {GetGpuInstanceIdFunc: func() (int, nvml.Return) { return three, nvml.SUCCESS },
			GetUUIDFunc: func() (string, nvml.Return) { return "MIG-3g", nvml.SUCCESS }},
		1: {GetGpuInstanceIdFunc: func() (int, nvml.Return) { return two, nvml.SUCCESS },
			GetUUIDFunc: func() (string, nvml.Return) { return "MIG-2g", nvml.SUCCESS }},
	}
	dev.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	dev.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if d, ok := migDevices[i]; ok {
			return d, nvml.SUCCESS
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	return srv
}

func TestDiscoverMIG(t *testing.T) {
	inv, err := NewDiscoverer(migServer(t)).Discover()
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Cards) != 2 {
		t.Fatalf("%d cards", len(inv.Cards))
	}
	got := inv.Cards[0].MIG
	if got == nil {
		t.Fatal("card 0 is in MIG mode but has no MIG state")
	}
	for i := range got.Instances {
		got.Instances[i].giID = 0
	}
	want := &MIG{Instances: []MIGInstance{
		{Profile: "3g.40gb", UUID: "MIG-3g", Start: 0, Size: 4},
		{Profile: "2g.20gb", UUID: "MIG-2g", Start: 4, Size: 2},
		{Profile: "1g.10gb+me", Start: 6, Size: 1},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MIG\n got %+v\nwant %+v", got, want)
	}
	if inv.Cards[1].MIG != nil {
		t.Errorf("card 1 is not in MIG mode but has %+v", inv.Cards[1].MIG)
	}
}

func TestDiscoverMIGFailures(t *testing.T) {
	srv := migServer(t)
	dev := srv.Devices[0].(*server.Device)
	dev.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_NO_PERMISSION }
	if _, err := NewDiscoverer(srv).Discover(); !errors.Is(err, ErrNoPermission) {
		t.Fatalf("Discover with MIG devices unreadable: %v, want ErrNoPermission", err)
	}
	srv = migServer(t)
	srv.Devices[0].(*server.Device).GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
	inv, err := NewDiscoverer(srv).Discover()
	if err != nil || inv.Cards[0].MIG != nil {
		t.Fatalf("a card without MIG: %v, %+v", err, inv.Cards[0].MIG)
	}
}

func TestProfileName(t *testing.T) {
	cases := []struct {
		profile int
		info    nvml.GpuInstanceProfileInfo
		want    string
	}{
		// The A100 40GB's figures as NVML reports them.
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE, nvml.GpuInstanceProfileInfo{SliceCount: 1, MemorySizeMB: 4864}, "1g.5gb"},
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1, nvml.GpuInstanceProfileInfo{SliceCount: 1, MemorySizeMB: 4864}, "1g.5gb+me"},
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV2, nvml.GpuInstanceProfileInfo{SliceCount: 1, MemorySizeMB: 9856}, "1g.10gb"},
		{nvml.GPU_INSTANCE_PROFILE_3_SLICE, nvml.GpuInstanceProfileInfo{SliceCount: 3, MemorySizeMB: 19968}, "3g.20gb"},
		{nvml.GPU_INSTANCE_PROFILE_7_SLICE, nvml.GpuInstanceProfileInfo{SliceCount: 7, MemorySizeMB: 40192}, "7g.40gb"},
		// The A30's 2g.12gb+me, the H200's 3g.71gb.
		{nvml.GPU_INSTANCE_PROFILE_2_SLICE_REV1, nvml.GpuInstanceProfileInfo{SliceCount: 2, MemorySizeMB: 11968}, "2g.12gb+me"},
		{nvml.GPU_INSTANCE_PROFILE_3_SLICE, nvml.GpuInstanceProfileInfo{SliceCount: 3, MemorySizeMB: 72704}, "3g.71gb"},
	}
	for _, tc := range cases {
		if got := ProfileName(tc.profile, tc.info); got != tc.want {
			t.Errorf("ProfileName(%d, %+v) = %q, want %q", tc.profile, tc.info, got, tc.want)
		}
	}
}
