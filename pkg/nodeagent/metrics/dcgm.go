package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

// Sampler reads the cards' live values; *discovery.Discoverer is one.
type Sampler interface {
	Sample() ([]discovery.Sample, error)
}

var _ Sampler = (*discovery.Discoverer)(nil)

// The label names dcgm-exporter gives its series, which dashboards and the
// extender's queries group by.
var dcgmLabels = []string{"gpu", "UUID", "modelName", "Hostname"}

// DCGMCollector serves a subset of dcgm-exporter's series, with its names,
// units and labels, read from NVML on every scrape: no background polling,
// so the values are as fresh as the scrape and nothing runs unscraped.
type DCGMCollector struct {
	sampler  Sampler
	hostname string
	// enabled is asked on every scrape; it is false while a dcgm-exporter
	// answers on the node, so that the same cards are not reported twice.
	enabled func() bool
	// errors counts scrapes that could not read NVML.
	errors prometheus.Counter

	util, fbUsed, fbFree, temp, power *prometheus.Desc
}

var _ prometheus.Collector = (*DCGMCollector)(nil)

// NewDCGMCollector returns a collector of sampler's cards labelled with
// hostname (the node name). enabled nil means always; errors may be nil.
func NewDCGMCollector(sampler Sampler, hostname string, enabled func() bool, errors prometheus.Counter) *DCGMCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, dcgmLabels, nil)
	}
	return &DCGMCollector{
		sampler:  sampler,
		hostname: hostname,
		enabled:  enabled,
		errors:   errors,
		util:     desc("DCGM_FI_DEV_GPU_UTIL", "GPU utilisation in percent (served by the gpuplane node agent from NVML)."),
		fbUsed:   desc("DCGM_FI_DEV_FB_USED", "Frame-buffer memory used in MiB (served by the gpuplane node agent from NVML)."),
		fbFree:   desc("DCGM_FI_DEV_FB_FREE", "Frame-buffer memory free in MiB (served by the gpuplane node agent from NVML)."),
		temp:     desc("DCGM_FI_DEV_GPU_TEMP", "GPU temperature in degrees Celsius (served by the gpuplane node agent from NVML)."),
		power:    desc("DCGM_FI_DEV_POWER_USAGE", "Power draw in watts (served by the gpuplane node agent from NVML)."),
	}
}

// Describe sends the five series' descriptions.
func (c *DCGMCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.util, c.fbUsed, c.fbFree, c.temp, c.power} {
		ch <- d
	}
}

// Collect reads NVML and sends one gauge per card and supported reading.
// A failed read sends nothing (a scrape with stale values would hide a lost
// driver) and counts an error.
func (c *DCGMCollector) Collect(ch chan<- prometheus.Metric) {
	if c.enabled != nil && !c.enabled() {
		return
	}
	samples, err := c.sampler.Sample()
	if err != nil {
		if c.errors != nil {
			c.errors.Inc()
		}
		return
	}
	for _, s := range samples {
		labels := []string{strconv.Itoa(s.Index), s.UUID, s.Product, c.hostname}
		for _, m := range []struct {
			desc *prometheus.Desc
			r    discovery.Reading
		}{
			{c.util, s.UtilizationPercent},
			{c.fbUsed, s.MemoryUsedMiB},
			{c.fbFree, s.MemoryFreeMiB},
			{c.temp, s.TemperatureC},
			{c.power, s.PowerW},
		} {
			if m.r.OK {
				ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, m.r.Value, labels...)
			}
		}
	}
}
