package discovery

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// mib is one mebibyte; NVML counts memory in bytes, labels in MiB.
const mib = 1 << 20

// Card is one NVIDIA card as NVML reports it.
type Card struct {
	Index     int
	UUID      string
	Product   string
	MemoryMiB int64
	// MIG is set for a card in MIG mode: its instances.
	MIG *MIG
}

// Inventory is what Discover found on the node.
type Inventory struct {
	DriverVersion string
	// CUDADriverVersion is the highest CUDA version the driver supports,
	// as "major.minor" (e.g. "12.4").
	CUDADriverVersion string
	// Cards are ordered by index.
	Cards []Card
}

// Discoverer reads cards through one NVML library, initialising it on first
// use and again after a failure, so that a driver installed or reloaded
// while the agent runs is picked up on a later pass without a restart.
// It is safe for concurrent use (passes and metric scrapes).
type Discoverer struct {
	lib nvml.Interface

	mu          sync.Mutex
	initialized bool
}

// NewDiscoverer returns a Discoverer reading lib; it does not call NVML yet.
func NewDiscoverer(lib nvml.Interface) *Discoverer {
	return &Discoverer{lib: lib}
}

// Discover returns the driver versions and every card. A failure leaves
// NVML shut down so the next call starts afresh; the error wraps one of the
// package's error classes.
func (d *Discoverer) Discover() (Inventory, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.initLocked(); err != nil {
		return Inventory{}, err
	}
	inv, err := d.discoverLocked()
	if err != nil {
		d.shutdownLocked()
		return Inventory{}, err
	}
	return inv, nil
}

func (d *Discoverer) discoverLocked() (Inventory, error) {
	var inv Inventory
	var ret nvml.Return
	if inv.DriverVersion, ret = d.lib.SystemGetDriverVersion(); ret != nvml.SUCCESS {
		return inv, nvmlError("reading the driver version", ret)
	}
	cuda, ret := d.lib.SystemGetCudaDriverVersion()
	if ret != nvml.SUCCESS {
		return inv, nvmlError("reading the CUDA driver version", ret)
	}
	inv.CUDADriverVersion = FormatCUDAVersion(cuda)
	n, ret := d.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return inv, nvmlError("counting devices", ret)
	}
	for i := range n {
		dev, ret := d.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return inv, nvmlError(fmt.Sprintf("opening device %d", i), ret)
		}
		c, err := readCard(dev, i)
		if err != nil {
			return inv, err
		}
		inv.Cards = append(inv.Cards, c)
	}
	slices.SortFunc(inv.Cards, func(a, b Card) int { return cmp.Compare(a.Index, b.Index) })
	return inv, nil
}

func readCard(dev nvml.Device, handleIndex int) (c Card, err error) {
	c = Card{Index: handleIndex}
	if idx, ret := dev.GetIndex(); ret == nvml.SUCCESS {
		c.Index = idx
	}
	var ret nvml.Return
	if c.UUID, ret = dev.GetUUID(); ret != nvml.SUCCESS {
		return c, nvmlError(fmt.Sprintf("reading the UUID of device %d", c.Index), ret)
	}
	if c.Product, ret = dev.GetName(); ret != nvml.SUCCESS {
		return c, nvmlError(fmt.Sprintf("reading the name of device %d", c.Index), ret)
	}
	mem, ret := dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return c, nvmlError(fmt.Sprintf("reading the memory of device %d", c.Index), ret)
	}
	c.MemoryMiB = int64(mem.Total / mib)
	if c.MIG, err = readMIG(dev, c.Index); err != nil {
		return c, err
	}
	return c, nil
}

// FormatCUDAVersion turns NVML's integer (1000*major + 10*minor) into
// "major.minor".
func FormatCUDAVersion(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// Close shuts NVML down if this Discoverer initialised it.
func (d *Discoverer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.initialized {
		return nil
	}
	d.initialized = false
	if ret := d.lib.Shutdown(); ret != nvml.SUCCESS {
		return nvmlError("shutting NVML down", ret)
	}
	return nil
}

func (d *Discoverer) initLocked() error {
	if d.initialized {
		return nil
	}
	if ret := d.lib.Init(); ret != nvml.SUCCESS {
		return nvmlError("initialising NVML", ret)
	}
	d.initialized = true
	return nil
}

func (d *Discoverer) shutdownLocked() {
	if d.initialized {
		_ = d.lib.Shutdown() // best effort: the next call initialises again
		d.initialized = false
	}
}
