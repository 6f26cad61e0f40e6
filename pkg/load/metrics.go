package load

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the load source's own gauges and counters, registered on the
// registry the program passes in.
type metrics struct {
	refreshes      *prometheus.CounterVec
	refreshSeconds prometheus.Histogram
	lastSuccess    prometheus.Gauge
	stale          prometheus.Gauge
	cards          prometheus.Gauge
	samplesIgnored prometheus.Counter
	lookupsFresh   prometheus.Counter
	lookupsStale   prometheus.Counter
	nodesWithout   prometheus.Counter
	refreshOK      prometheus.Counter
	refreshFailed  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gpuplane_extender_load_lookups_total",
		Help: "Scheduling requests that asked for GPU load, by whether the data was fresh or stale (stale means scored without load).",
	}, []string{"result"})
	m := &metrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuplane_extender_load_refreshes_total",
			Help: "Refreshes of GPU load from Prometheus, by result (ok or error).",
		}, []string{"result"}),
		refreshSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gpuplane_extender_load_refresh_duration_seconds",
			Help:    "Time one refresh of GPU load from Prometheus took.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuplane_extender_load_last_success_timestamp_seconds",
			Help: "Unix time of the last successful refresh of GPU load.",
		}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuplane_extender_load_stale",
			Help: "1 while GPU load data is missing or older than the stale limit, so scores ignore load; 0 otherwise.",
		}),
		cards: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuplane_extender_load_cards",
			Help: "Cards with load data in the latest refresh.",
		}),
		samplesIgnored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuplane_extender_load_samples_ignored_total",
			Help: "Samples dropped because they lacked the node label, a usable card index or UUID, or a finite value.",
		}),
		nodesWithout: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuplane_extender_load_nodes_missing_total",
			Help: "Nodes scored without load because Prometheus had no data for them.",
		}),
	}
	m.lookupsFresh = lookups.WithLabelValues("fresh")
	m.lookupsStale = lookups.WithLabelValues("stale")
	m.refreshOK = m.refreshes.WithLabelValues("ok")
	m.refreshFailed = m.refreshes.WithLabelValues("error")
	m.stale.Set(1)
	for _, c := range []prometheus.Collector{lookups, m.refreshes, m.refreshSeconds, m.lastSuccess, m.stale, m.cards, m.samplesIgnored, m.nodesWithout} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterAbsent registers the load metrics of a program that reads no GPU
// load (no Prometheus configured), so that /metrics says so the way a
// source does while its data is stale: gpuplane_extender_load_stale is 1
// and no refresh ever succeeds.
func RegisterAbsent(reg prometheus.Registerer) error {
	if _, err := newMetrics(reg); err != nil {
		return fmt.Errorf("registering load metrics: %w", err)
	}
	return nil
}
