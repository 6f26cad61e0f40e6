package fakegpu

import (
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// What the fake driver reports. The version says it is fake, so no
// condition message can pass it off as a real driver.
const (
	DriverVersion     = "fake-550.54.15"
	CUDADriverVersion = 12040
)

const mib = 1 << 20

// uuidSpace scopes the fake cards' UUIDs, so they are stable across
// restarts for one node and differ between nodes.
var uuidSpace = uuid.MustParse("6f1f2a9c-5a51-4c0e-9a55-6770757061e0")

// Library is an nvml.Interface over described cards. It embeds go-nvml's
// mock types for the rest of the interface (a method the agent does not use
// panics with its name), but implements the methods the agent calls itself:
// the moq-generated ones record every call, which grows without bound in an
// agent that samples every few seconds for days.
type Library struct {
	mock.Interface
	devices []*Device
}

// Device is one fake card.
type Device struct {
	mock.Device
	index       int
	uuid        string
	product     string
	memory      nvml.Memory
	utilization uint32
	temperature uint32
	powerMilliW uint32
	mig         *migCard
}

var (
	_ nvml.Interface = (*Library)(nil)
	_ nvml.Device    = (*Device)(nil)
)

// New builds the cards described, in order, indexes from 0. Types are
// resolved in cat; seed (the node name) makes the UUIDs.
func New(cards []Card, cat *catalog.Catalog, seed string) (*Library, error) {
	if err := validate(cards); err != nil {
		return nil, err
	}
	lib := &Library{}
	for _, c := range cards {
		product, memMiB, err := resolve(c, cat)
		if err != nil {
			return nil, err
		}
		r := readingsFor(c, memMiB)
		t, typed := cat.MatchProduct(product)
		if c.Type != "" {
			t, typed = cat.Type(c.Type)
		}
		for range c.Count {
			i := len(lib.devices)
			mig := &migCard{}
			if typed {
				if mig, err = newMIGCard(t, c.MIG, seed, i); err != nil {
					return nil, err
				}
			} else if c.MIG != nil {
				return nil, fmt.Errorf("%w: product %q matches no catalog type, so it has no MIG profiles", ErrBadSpec, product)
			}
			lib.devices = append(lib.devices, &Device{
				mig:         mig,
				index:       i,
				uuid:        "GPU-" + uuid.NewSHA1(uuidSpace, fmt.Appendf(nil, "%s/%d", seed, i)).String(),
				product:     product,
				memory:      nvml.Memory{Total: uint64(memMiB) * mib, Used: uint64(r.usedMiB) * mib, Free: uint64(memMiB-r.usedMiB) * mib},
				utilization: r.utilization,
				temperature: r.temperature,
				powerMilliW: r.powerMilliW,
			})
		}
	}
	return lib, nil
}

// resolve finds the product name and memory of a described card.
func resolve(c Card, cat *catalog.Catalog) (product string, memMiB int64, err error) {
	product, memMiB = c.Product, c.MemoryMiB
	if c.Type == "" {
		if memMiB == 0 {
			if t, ok := cat.MatchProduct(product); ok {
				memMiB = t.MemoryMiB
			} else {
				return "", 0, fmt.Errorf("%w: product %q matches no catalog type, so memoryMiB must be given", ErrBadSpec, product)
			}
		}
		return product, memMiB, nil
	}
	t, ok := cat.Type(c.Type)
	if !ok {
		return "", 0, fmt.Errorf("%w: type %q is not in the catalog; known types: %s", ErrBadSpec, c.Type, strings.Join(cat.TypeNames(), ", "))
	}
	if memMiB == 0 {
		memMiB = t.MemoryMiB
	}
	if product != "" {
		return product, memMiB, nil
	}
	for _, p := range t.Products {
		candidate := productFromPattern(p)
		if m, ok := cat.MatchProduct(candidate); ok && m.Name == t.Name {
			return candidate, memMiB, nil
		}
	}
	return "", 0, fmt.Errorf("%w: no product name of type %s can be made from its catalog patterns %q; give one with product", ErrBadSpec, t.Name, t.Products)
}

// productFromPattern makes a product name a pattern matches: a trailing
// '*' matches nothing, one inside stands for a dash ("Tesla V100*16GB*" ->
// "Tesla V100-16GB"), '?' for a zero.
func productFromPattern(p string) string {
	p = strings.TrimRight(strings.TrimSpace(p), "*")
	p = strings.ReplaceAll(p, "*", "-")
	return strings.ReplaceAll(p, "?", "0")
}

type readings struct {
	usedMiB     int64
	utilization uint32
	temperature uint32
	powerMilliW uint32
}

// readingsFor applies the defaults documented on Card: a busier card uses
// more memory, runs hotter and draws more power. The curves are
// illustrative, not a model of any card.
func readingsFor(c Card, memMiB int64) readings {
	u := 0.0
	if c.UtilizationPercent != nil {
		u = *c.UtilizationPercent
	}
	r := readings{
		utilization: uint32(math.Round(u)),
		usedMiB:     int64(math.Round(float64(memMiB) * u / 100)),
		temperature: uint32(math.Round(30 + u/2)),
		powerMilliW: uint32(math.Round((50 + 2.5*u) * 1000)),
	}
	if c.MemoryUsedMiB != nil {
		r.usedMiB = min(*c.MemoryUsedMiB, memMiB)
	}
	if c.TemperatureC != nil {
		r.temperature = uint32(math.Round(*c.TemperatureC))
	}
	if c.PowerW != nil {
		r.powerMilliW = uint32(math.Round(*c.PowerW * 1000))
	}
	return r
}

// Init succeeds: the fake driver is always loaded.
func (l *Library) Init() nvml.Return { return nvml.SUCCESS }

// Shutdown succeeds.
func (l *Library) Shutdown() nvml.Return { return nvml.SUCCESS }

// SystemGetDriverVersion returns DriverVersion.
func (l *Library) SystemGetDriverVersion() (string, nvml.Return) { return DriverVersion, nvml.SUCCESS }

// SystemGetCudaDriverVersion returns CUDADriverVersion.
func (l *Library) SystemGetCudaDriverVersion() (int, nvml.Return) {
	return CUDADriverVersion, nvml.SUCCESS
}

// DeviceGetCount returns the number of described cards.
func (l *Library) DeviceGetCount() (int, nvml.Return) { return len(l.devices), nvml.SUCCESS }

// DeviceGetHandleByIndex returns card i.
func (l *Library) DeviceGetHandleByIndex(i int) (nvml.Device, nvml.Return) {
	if i < 0 || i >= len(l.devices) {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return l.devices[i], nvml.SUCCESS
}

// DeviceGetHandleByUUID returns the card with this UUID.
func (l *Library) DeviceGetHandleByUUID(id string) (nvml.Device, nvml.Return) {
	for _, d := range l.devices {
		if d.uuid == id {
			return d, nvml.SUCCESS
		}
	}
	return nil, nvml.ERROR_NOT_FOUND
}

// GetIndex returns the card's index.
func (d *Device) GetIndex() (int, nvml.Return) { return d.index, nvml.SUCCESS }

// GetMinorNumber returns the index, as /dev/nvidiaN numbers follow it.
func (d *Device) GetMinorNumber() (int, nvml.Return) { return d.index, nvml.SUCCESS }

// GetUUID returns the card's stable fake UUID.
func (d *Device) GetUUID() (string, nvml.Return) { return d.uuid, nvml.SUCCESS }

// GetName returns the product name.
func (d *Device) GetName() (string, nvml.Return) { return d.product, nvml.SUCCESS }

// GetMemoryInfo returns total, used and free memory.
func (d *Device) GetMemoryInfo() (nvml.Memory, nvml.Return) { return d.memory, nvml.SUCCESS }

// GetUtilizationRates returns the described utilisation (memory
// utilisation follows the GPU's).
func (d *Device) GetUtilizationRates() (nvml.Utilization, nvml.Return) {
	return nvml.Utilization{Gpu: d.utilization, Memory: d.utilization}, nvml.SUCCESS
}

// GetTemperature returns the described GPU temperature.
func (d *Device) GetTemperature(sensor nvml.TemperatureSensors) (uint32, nvml.Return) {
	if sensor != nvml.TEMPERATURE_GPU {
		return 0, nvml.ERROR_NOT_SUPPORTED
	}
	return d.temperature, nvml.SUCCESS
}

// GetPowerUsage returns the described power draw in milliwatts.
func (d *Device) GetPowerUsage() (uint32, nvml.Return) { return d.powerMilliW, nvml.SUCCESS }
