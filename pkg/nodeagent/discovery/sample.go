package discovery

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Reading is one measured value; OK is false when the card does not support
// the measurement (NVML answers NOT_SUPPORTED on many consumer and older
// cards), in which case the metric is left out rather than reported as 0.
type Reading struct {
	Value float64
	OK    bool
}

// Sample is one card's live readings, in DCGM's units.
type Sample struct {
	Card
	// UtilizationPercent is the GPU utilisation over NVML's last sample
	// period, 0..100.
	UtilizationPercent Reading
	// MemoryUsedMiB and MemoryFreeMiB are frame-buffer memory.
	MemoryUsedMiB Reading
	MemoryFreeMiB Reading
	// TemperatureC is the GPU core temperature in degrees Celsius.
	TemperatureC Reading
	// PowerW is the power draw in watts.
	PowerW Reading
}

// Sample reads every card's utilisation, memory, temperature and power.
// Errors reading one measurement leave it out; errors finding the cards
// fail the whole sample (and reset NVML, as Discover does).
func (d *Discoverer) Sample() ([]Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.initLocked(); err != nil {
		return nil, err
	}
	n, ret := d.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		d.shutdownLocked()
		return nil, nvmlError("counting devices", ret)
	}
	out := make([]Sample, 0, n)
	for i := range n {
		dev, ret := d.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			d.shutdownLocked()
			return nil, nvmlError(fmt.Sprintf("opening device %d", i), ret)
		}
		card, err := readCard(dev, i)
		if err != nil {
			d.shutdownLocked()
			return nil, err
		}
		out = append(out, readSample(dev, card))
	}
	return out, nil
}

func readSample(dev nvml.Device, card Card) Sample {
	s := Sample{Card: card}
	if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
		s.UtilizationPercent = Reading{float64(u.Gpu), true}
	}
	if m, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		s.MemoryUsedMiB = Reading{float64(m.Used / mib), true}
		s.MemoryFreeMiB = Reading{float64(m.Free / mib), true}
	}
	if t, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
		s.TemperatureC = Reading{float64(t), true}
	}
	if p, ret := dev.GetPowerUsage(); ret == nvml.SUCCESS {
		s.PowerW = Reading{float64(p) / 1000, true} // NVML reports milliwatts
	}
	return s
}
