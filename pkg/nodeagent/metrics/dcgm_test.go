package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

const mib = 1 << 20

// setReadings gives a mock device live values.
func setReadings(d *server.Device, util, usedMiB, tempC, powerMilliW uint32) {
	total := d.MemoryInfo.Total
	d.MemoryInfo = nvml.Memory{Total: total, Used: uint64(usedMiB) * mib, Free: total - uint64(usedMiB)*mib}
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: util}, nvml.SUCCESS }
	d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return tempC, nvml.SUCCESS }
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return powerMilliW, nvml.SUCCESS }
}

func TestDCGMCollectorDGXA100(t *testing.T) {
	srv := dgxa100.New()
	for i, d := range srv.Devices {
		setReadings(d.(*server.Device), uint32(i*10), uint32(i*1000), uint32(40+i), uint32(60000+i*500))
	}
	c := NewDCGMCollector(discovery.NewDiscoverer(srv), "dgx-1", nil, nil)
	if n := testutil.CollectAndCount(c); n != 8*5 {
		t.Fatalf("%d series, want 40", n)
	}
	uuid2 := srv.Devices[2].(*server.Device).UUID
	var want strings.Builder
	for _, m := range []struct {
		name, help string
		value      float64
	}{
		{"DCGM_FI_DEV_GPU_UTIL", "GPU utilisation in percent", 20},
		{"DCGM_FI_DEV_FB_USED", "Frame-buffer memory used in MiB", 2000},
		{"DCGM_FI_DEV_FB_FREE", "Frame-buffer memory free in MiB", 40960 - 2000},
		{"DCGM_FI_DEV_GPU_TEMP", "GPU temperature in degrees Celsius", 42},
		{"DCGM_FI_DEV_POWER_USAGE", "Power draw in watts", 61},
	} {
		fmt.Fprintf(&want, "# HELP %s %s (served by the gpuplane node agent from NVML).\n# TYPE %s gauge\n", m.name, m.help, m.name)
		fmt.Fprintf(&want, "%s{Hostname=\"dgx-1\",UUID=%q,gpu=\"2\",modelName=\"Mock NVIDIA A100-SXM4-40GB\"} %v\n", m.name, uuid2, m.value)
	}
	// Compare card 2 only: a registry filtered to its UUID.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range got {
		kept := mf.Metric[:0]
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "UUID" && l.GetValue() == uuid2 {
					kept = append(kept, m)
				}
			}
		}
		mf.Metric = kept
	}
	if err := testutil.GatherAndCompare(gathered(got), strings.NewReader(want.String())); err != nil {
		t.Fatal(err)
	}
}

func TestDCGMCollectorMixed(t *testing.T) {
	v100 := gpus.Config{Name: "Tesla V100-SXM2-32GB", MemoryMB: 32768}
	t4 := gpus.Config{Name: "Tesla T4", MemoryMB: 15360}
	srv := server.NewServerWithGPUs("520.61.05", "11.520.61.05", 11080, v100, t4)
	setReadings(srv.Devices[0].(*server.Device), 97, 30000, 71, 290123)
	setReadings(srv.Devices[1].(*server.Device), 5, 512, 38, 27000)
	// The T4 does not report power: the series is left out, not zero.
	srv.Devices[1].(*server.Device).GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	c := NewDCGMCollector(discovery.NewDiscoverer(srv), "mixed-1", nil, nil)
	want := fmt.Sprintf(`# HELP DCGM_FI_DEV_GPU_UTIL GPU utilisation in percent (served by the gpuplane node agent from NVML).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{Hostname="mixed-1",UUID=%[1]q,gpu="0",modelName="Tesla V100-SXM2-32GB"} 97
DCGM_FI_DEV_GPU_UTIL{Hostname="mixed-1",UUID=%[2]q,gpu="1",modelName="Tesla T4"} 5
# HELP DCGM_FI_DEV_POWER_USAGE Power draw in watts (served by the gpuplane node agent from NVML).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{Hostname="mixed-1",UUID=%[1]q,gpu="0",modelName="Tesla V100-SXM2-32GB"} 290.123
# HELP DCGM_FI_DEV_FB_FREE Frame-buffer memory free in MiB (served by the gpuplane node agent from NVML).
# TYPE DCGM_FI_DEV_FB_FREE gauge
DCGM_FI_DEV_FB_FREE{Hostname="mixed-1",UUID=%[1]q,gpu="0",modelName="Tesla V100-SXM2-32GB"} 2768
DCGM_FI_DEV_FB_FREE{Hostname="mixed-1",UUID=%[2]q,gpu="1",modelName="Tesla T4"} 14848
`, srv.Devices[0].(*server.Device).UUID, srv.Devices[1].(*server.Device).UUID)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_FB_FREE"); err != nil {
		t.Fatal(err)
	}
}

func TestDCGMCollectorDisabledAndFailing(t *testing.T) {
	srv := dgxa100.New()
	for _, d := range srv.Devices {
		setReadings(d.(*server.Device), 1, 1, 1, 1)
	}
	enabled := false
	errs := prometheus.NewCounter(prometheus.CounterOpts{Name: "errs"})
	c := NewDCGMCollector(discovery.NewDiscoverer(srv), "n", func() bool { return enabled }, errs)
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Fatalf("disabled collector sent %d series", n)
	}
	enabled = true
	if n := testutil.CollectAndCount(c); n != 40 {
		t.Fatalf("enabled collector sent %d series", n)
	}
	srv.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_DRIVER_NOT_LOADED }
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Fatalf("failing collector sent %d series", n)
	}
	if v := testutil.ToFloat64(errs); v != 1 {
		t.Fatalf("errors = %v, want 1", v)
	}
}
