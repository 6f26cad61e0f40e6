package fakegpu

import (
	"fmt"
	"math"

	"github.com/google/uuid"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// migCard is the MIG side of a fake card: whether its type offers MIG,
// whether MIG mode is on, the profiles as NVML numbers them and the GPU
// instances laid out on it.
type migCard struct {
	capable   bool
	enabled   bool
	profiles  map[int]nvml.GpuInstanceProfileInfo // NVML profile index -> info
	instances []*gpuInstance
}

// gpuInstance is one fake GPU instance with its MIG device.
type gpuInstance struct {
	mock.GpuInstance
	info    nvml.GpuInstanceInfo
	profile int
	migDev  *migDevice
}

// migDevice is the MIG device of a GPU instance.
type migDevice struct {
	mock.Device
	giID int
	uuid string
}

var (
	_ nvml.GpuInstance = (*gpuInstance)(nil)
	_ nvml.Device      = (*migDevice)(nil)
)

// profileIndex numbers a catalog profile as NVML numbers GPU instance
// profiles: by compute slices, REV1 for the "+me" ones; a 1-slice profile
// with more memory than another 1-slice one of its card (the A100 80GB's
// 1g.20gb) is REV2.
func profileIndex(p catalog.MIGProfile, all []catalog.MIGProfile) (int, error) {
	if p.Media {
		switch p.Slices {
		case 1:
			return nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1, nil
		case 2:
			return nvml.GPU_INSTANCE_PROFILE_2_SLICE_REV1, nil
		}
		return 0, fmt.Errorf("%w: media profile %s: the fake driver knows +me profiles of 1 and 2 slices", ErrBadSpec, p.Name)
	}
	if p.Slices == 1 {
		for _, q := range all {
			if !q.Media && q.Slices == 1 && q.MemoryMiB < p.MemoryMiB {
				return nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV2, nil
			}
		}
	}
	bySlices := map[int]int{1: nvml.GPU_INSTANCE_PROFILE_1_SLICE, 2: nvml.GPU_INSTANCE_PROFILE_2_SLICE, 3: nvml.GPU_INSTANCE_PROFILE_3_SLICE,
		4: nvml.GPU_INSTANCE_PROFILE_4_SLICE, 6: nvml.GPU_INSTANCE_PROFILE_6_SLICE, 7: nvml.GPU_INSTANCE_PROFILE_7_SLICE, 8: nvml.GPU_INSTANCE_PROFILE_8_SLICE}
	if i, ok := bySlices[p.Slices]; ok {
		return i, nil
	}
	return 0, fmt.Errorf("%w: profile %s: NVML has no profile of %d slices", ErrBadSpec, p.Name, p.Slices)
}

// newMIGCard lays out the instances described (nil: MIG mode off) on a
// card of type t, placing each at the first free run of memory slices
// aligned to its size, as NVIDIA's placements are.
func newMIGCard(t *catalog.Type, described *[]string, seed string, card int) (*migCard, error) {
	m := &migCard{capable: len(t.MIG.Profiles) > 0}
	if described == nil {
		return m, nil
	}
	if !m.capable {
		return nil, fmt.Errorf("%w: type %s has no MIG profiles in the catalog, so its cards cannot be in MIG mode", ErrBadSpec, t.Name)
	}
	m.enabled = true
	m.profiles = map[int]nvml.GpuInstanceProfileInfo{}
	byName := map[string]int{}
	for _, p := range t.MIG.Profiles {
		i, err := profileIndex(p, t.MIG.Profiles)
		if err != nil {
			return nil, err
		}
		if _, dup := m.profiles[i]; dup {
			return nil, fmt.Errorf("%w: type %s: two profiles are NVML profile %d", ErrBadSpec, t.Name, i)
		}
		m.profiles[i] = nvml.GpuInstanceProfileInfo{Id: uint32(i), SliceCount: uint32(p.Slices), InstanceCount: uint32(t.MIG.Slices),
			MemorySizeMB: uint64(p.MemoryMiB)}
		byName[p.Name] = i
	}
	memSlices := 8
	if t.MIG.Slices <= 4 {
		memSlices = 4
	}
	var used [8]bool
	compute := 0
	for k, name := range *described {
		p, ok := t.MIGProfile(name)
		if !ok {
			return nil, fmt.Errorf("%w: type %s offers no MIG profile %q; its profiles: %v", ErrBadSpec, t.Name, name, t.MIGProfileNames())
		}
		compute += p.Slices
		if compute > t.MIG.Slices {
			return nil, fmt.Errorf("%w: the MIG instances %v of a %s hold more than its %d compute slices", ErrBadSpec, *described, t.Name, t.MIG.Slices)
		}
		size := max(1, int(math.Round(float64(p.MemoryMiB)*float64(memSlices)/float64(t.MemoryMiB))))
		start := -1
		for s := 0; s+size <= memSlices && start < 0; s += size {
			free := true
			for j := s; j < s+size; j++ {
				free = free && !used[j]
			}
			if free {
				start = s
			}
		}
		if start < 0 {
			return nil, fmt.Errorf("%w: the MIG instances %v do not fit the memory of a %s", ErrBadSpec, *described, t.Name)
		}
		for j := start; j < start+size; j++ {
			used[j] = true
		}
		gi := &gpuInstance{profile: byName[p.Name], info: nvml.GpuInstanceInfo{Id: uint32(k + 1), ProfileId: uint32(byName[p.Name]),
			Placement: nvml.GpuInstancePlacement{Start: uint32(start), Size: uint32(size)}}}
		gi.migDev = &migDevice{giID: k + 1, uuid: "MIG-" + uuid.NewSHA1(uuidSpace, fmt.Appendf(nil, "%s/%d/mig/%d", seed, card, k)).String()}
		m.instances = append(m.instances, gi)
	}
	return m, nil
}

// GetMigMode reports MIG mode on for a card described with instances, off
// for another card of a MIG type, and not supported for other types.
func (d *Device) GetMigMode() (int, int, nvml.Return) {
	switch {
	case !d.mig.capable:
		return 0, 0, nvml.ERROR_NOT_SUPPORTED
	case d.mig.enabled:
		return nvml.DEVICE_MIG_ENABLE, nvml.DEVICE_MIG_ENABLE, nvml.SUCCESS
	}
	return nvml.DEVICE_MIG_DISABLE, nvml.DEVICE_MIG_DISABLE, nvml.SUCCESS
}

// GetGpuInstanceProfileInfo returns a profile of the card's type.
func (d *Device) GetGpuInstanceProfileInfo(profile int) (nvml.GpuInstanceProfileInfo, nvml.Return) {
	if !d.mig.enabled {
		return nvml.GpuInstanceProfileInfo{}, nvml.ERROR_NOT_SUPPORTED
	}
	if profile < 0 || profile >= nvml.GPU_INSTANCE_PROFILE_COUNT {
		return nvml.GpuInstanceProfileInfo{}, nvml.ERROR_INVALID_ARGUMENT
	}
	info, ok := d.mig.profiles[profile]
	if !ok {
		return nvml.GpuInstanceProfileInfo{}, nvml.ERROR_NOT_SUPPORTED
	}
	return info, nvml.SUCCESS
}

// GetGpuInstances returns the card's GPU instances of a profile.
func (d *Device) GetGpuInstances(info *nvml.GpuInstanceProfileInfo) ([]nvml.GpuInstance, nvml.Return) {
	var out []nvml.GpuInstance
	for _, gi := range d.mig.instances {
		if uint32(gi.profile) == info.Id {
			out = append(out, gi)
		}
	}
	return out, nvml.SUCCESS
}

// GetMaxMigDeviceCount returns how many MIG devices the card may hold.
func (d *Device) GetMaxMigDeviceCount() (int, nvml.Return) { return 7, nvml.SUCCESS }

// GetMigDeviceHandleByIndex returns the MIG device of instance i.
func (d *Device) GetMigDeviceHandleByIndex(i int) (nvml.Device, nvml.Return) {
	if i < 0 || i >= len(d.mig.instances) {
		return nil, nvml.ERROR_NOT_FOUND
	}
	return d.mig.instances[i].migDev, nvml.SUCCESS
}

// GetInfo returns the GPU instance's id, profile and placement.
func (gi *gpuInstance) GetInfo() (nvml.GpuInstanceInfo, nvml.Return) { return gi.info, nvml.SUCCESS }

// GetGpuInstanceId returns the GPU instance of a MIG device.
func (m *migDevice) GetGpuInstanceId() (int, nvml.Return) { return m.giID, nvml.SUCCESS }

// GetUUID returns the MIG device's stable fake UUID.
func (m *migDevice) GetUUID() (string, nvml.Return) { return m.uuid, nvml.SUCCESS }
