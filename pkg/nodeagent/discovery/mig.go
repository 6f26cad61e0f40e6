package discovery

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// MIG is the Multi-Instance GPU state of a card in MIG mode.
type MIG struct {
	// Instances are the card's GPU instances, ordered by placement.
	Instances []MIGInstance
}

// MIGInstance is one GPU instance of a card and its MIG device.
type MIGInstance struct {
	// Profile is NVIDIA's name of the instance's profile ("3g.40gb",
	// "1g.10gb+me"), made from the profile NVML reports (see ProfileName).
	Profile string
	// UUID is the MIG device's UUID; empty when NVML has no MIG device
	// for the instance (no compute instance created in it yet).
	UUID string
	// Start and Size are the instance's placement in memory slices.
	Start, Size int
	// giID is the GPU instance's id, which MIG devices refer to.
	giID int
}

// ProfileName names a GPU instance profile as NVIDIA does:
// "<slices>g.<memory>gb", the memory in GB rounded up from the MiB NVML
// reports (4864 MiB is the A100 40GB's 1g.5gb, 72704 MiB the H200's
// 3g.71gb), with "+me" for the profiles NVML numbers
// GPU_INSTANCE_PROFILE_1_SLICE_REV1 and GPU_INSTANCE_PROFILE_2_SLICE_REV1,
// the ones holding the media engines.
func ProfileName(profile int, info nvml.GpuInstanceProfileInfo) string {
	gb := (info.MemorySizeMB + 1023) / 1024
	name := fmt.Sprintf("%dg.%dgb", info.SliceCount, gb)
	if profile == nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1 || profile == nvml.GPU_INSTANCE_PROFILE_2_SLICE_REV1 {
		name += "+me"
	}
	return name
}

// readMIG returns the MIG instances of a card in MIG mode, nil for a card
// whose MIG mode is disabled or that has no MIG. It reads the GPU instances
// of each profile (GetGpuInstanceProfileInfo, GetGpuInstances), then the
// MIG devices (GetMaxMigDeviceCount, GetMigDeviceHandleByIndex) for their
// UUIDs.
func readMIG(dev nvml.Device, index int) (*MIG, error) {
	current, _, ret := dev.GetMigMode()
	switch {
	case ret == nvml.ERROR_NOT_SUPPORTED:
		return nil, nil
	case ret != nvml.SUCCESS:
		return nil, nvmlError(fmt.Sprintf("reading the MIG mode of device %d", index), ret)
	case current != nvml.DEVICE_MIG_ENABLE:
		return nil, nil
	}
	m := &MIG{Instances: []MIGInstance{}}
	for p := range nvml.GPU_INSTANCE_PROFILE_COUNT {
		info, ret := dev.GetGpuInstanceProfileInfo(p)
		if ret == nvml.ERROR_NOT_SUPPORTED || ret == nvml.ERROR_INVALID_ARGUMENT {
			continue // a profile this card does not offer
		}
		if ret != nvml.SUCCESS {
			return nil, nvmlError(fmt.Sprintf("reading MIG profile %d of device %d", p, index), ret)
		}
		gis, ret := dev.GetGpuInstances(&info)
		if ret != nvml.SUCCESS {
			return nil, nvmlError(fmt.Sprintf("listing the GPU instances of profile %d of device %d", p, index), ret)
		}
		for _, gi := range gis {
			gii, ret := gi.GetInfo()
			if ret != nvml.SUCCESS {
				return nil, nvmlError(fmt.Sprintf("reading a GPU instance of device %d", index), ret)
			}
			m.Instances = append(m.Instances, MIGInstance{Profile: ProfileName(p, info), Start: int(gii.Placement.Start),
				Size: int(gii.Placement.Size), giID: int(gii.Id)})
		}
	}
	slices.SortFunc(m.Instances, func(a, b MIGInstance) int { return cmp.Compare(a.Start, b.Start) })
	if err := readMIGUUIDs(dev, index, m); err != nil {
		return nil, err
	}
	return m, nil
}

// readMIGUUIDs fills the UUIDs of the instances that have a MIG device.
func readMIGUUIDs(dev nvml.Device, index int, m *MIG) error {
	n, ret := dev.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return nvmlError(fmt.Sprintf("counting the MIG devices of device %d", index), ret)
	}
	for i := range n {
		mdev, ret := dev.GetMigDeviceHandleByIndex(i)
		if ret == nvml.ERROR_NOT_FOUND || ret == nvml.ERROR_INVALID_ARGUMENT {
			continue // no MIG device at this index
		}
		if ret != nvml.SUCCESS {
			return nvmlError(fmt.Sprintf("opening MIG device %d of device %d", i, index), ret)
		}
		gi, ret := mdev.GetGpuInstanceId()
		if ret != nvml.SUCCESS {
			return nvmlError(fmt.Sprintf("reading the GPU instance of MIG device %d of device %d", i, index), ret)
		}
		uuid, ret := mdev.GetUUID()
		if ret != nvml.SUCCESS {
			return nvmlError(fmt.Sprintf("reading the UUID of MIG device %d of device %d", i, index), ret)
		}
		for j := range m.Instances {
			if m.Instances[j].giID == gi && m.Instances[j].UUID == "" {
				m.Instances[j].UUID = uuid
				break
			}
		}
	}
	return nil
}
