package discovery

import (
	"errors"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// setReadings gives a mock device the live values Sample reads.
func setReadings(d *server.Device, util uint32, usedMiB uint64, tempC uint32, powerMilliW uint32) {
	total := d.MemoryInfo.Total
	d.MemoryInfo = nvml.Memory{Total: total, Used: usedMiB * mib, Free: total - usedMiB*mib}
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		return nvml.Utilization{Gpu: util, Memory: util / 2}, nvml.SUCCESS
	}
	d.GetTemperatureFunc = func(s nvml.TemperatureSensors) (uint32, nvml.Return) {
		if s != nvml.TEMPERATURE_GPU {
			return 0, nvml.ERROR_INVALID_ARGUMENT
		}
		return tempC, nvml.SUCCESS
	}
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return powerMilliW, nvml.SUCCESS }
}

func TestSampleDGXA100(t *testing.T) {
	srv := dgxa100.New()
	for i, dev := range srv.Devices {
		setReadings(dev.(*server.Device), uint32(10*i), uint64(1024*i), uint32(40+i), uint32(100000+1500*i))
	}
	samples, err := NewDiscoverer(srv).Sample()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 8 {
		t.Fatalf("%d samples", len(samples))
	}
	s := samples[3]
	want := Sample{
		Card:               Card{Index: 3, UUID: srv.Devices[3].(*server.Device).UUID, Product: "Mock NVIDIA A100-SXM4-40GB", MemoryMiB: 40960},
		UtilizationPercent: Reading{30, true},
		MemoryUsedMiB:      Reading{3072, true},
		MemoryFreeMiB:      Reading{40960 - 3072, true},
		TemperatureC:       Reading{43, true},
		PowerW:             Reading{104.5, true},
	}
	if s != want {
		t.Fatalf("sample 3 = %+v\nwant %+v", s, want)
	}
}

func TestSampleLeavesOutUnsupported(t *testing.T) {
	srv := newMixedServer()
	for _, dev := range srv.Devices {
		setReadings(dev.(*server.Device), 50, 100, 60, 70000)
	}
	t4 := srv.Devices[2].(*server.Device)
	t4.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	t4.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	samples, err := NewDiscoverer(srv).Sample()
	if err != nil {
		t.Fatal(err)
	}
	if samples[2].PowerW.OK || samples[2].TemperatureC.OK {
		t.Errorf("unsupported readings reported: %+v", samples[2])
	}
	if !samples[2].UtilizationPercent.OK || samples[2].UtilizationPercent.Value != 50 {
		t.Errorf("utilisation of the T4 lost: %+v", samples[2])
	}
	if !samples[0].PowerW.OK || samples[0].PowerW.Value != 70 {
		t.Errorf("V100 power = %+v, want 70 W", samples[0].PowerW)
	}
}

func TestSampleWithoutDriver(t *testing.T) {
	srv := newMixedServer()
	srv.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
	if _, err := NewDiscoverer(srv).Sample(); !errors.Is(err, ErrLibraryNotFound) {
		t.Fatalf("Sample: %v, want ErrLibraryNotFound", err)
	}
}
