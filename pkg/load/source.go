package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// ErrQuery is wrapped by every refresh error: Prometheus unreachable, refusing
// the query, or answering something that is not an instant vector.
var ErrQuery = errors.New("querying GPU load")

// Querier is the part of the Prometheus HTTP API the source uses;
// promv1.API satisfies it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

var _ Querier = promv1.API(nil)

// NewQuerier returns a Prometheus API client for the server at url.
func NewQuerier(url string) (Querier, error) {
	c, err := promapi.NewClient(promapi.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("Prometheus client for %q: %w", url, err)
	}
	return promv1.NewAPI(c), nil
}

// Source refreshes GPU load in the background and hands out the latest
// snapshot. A nil *Source is valid and never has data, which is what a
// program without a Prometheus URL uses.
type Source struct {
	cfg     Config
	api     Querier
	clock   clock.WithTicker
	metrics *metrics

	snap atomic.Pointer[Snapshot]

	// mu guards the loop's bookkeeping: the last error and whether the
	// stale state has been logged, so that a long outage logs once.
	mu        sync.Mutex
	lastErr   error
	wasStale  bool
	refreshes int
}

// NewSource returns a source querying api with cfg (defaults applied),
// timing with clk and registering its metrics on reg.
func NewSource(cfg Config, api Querier, clk clock.WithTicker, reg prometheus.Registerer) (*Source, error) {
	cfg = cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering load metrics: %w", err)
	}
	return &Source{cfg: cfg, api: api, clock: clk, metrics: m, wasStale: true}, nil
}

// Config returns the source's configuration with defaults applied.
func (s *Source) Config() Config { return s.cfg }

// Current returns the latest snapshot when it is fresh enough to score with.
// It never blocks on Prometheus.
func (s *Source) Current() (*Snapshot, bool) {
	if s == nil {
		return nil, false
	}
	snap := s.snap.Load()
	if !s.fresh(snap) {
		s.metrics.lookupsStale.Inc()
		return nil, false
	}
	s.metrics.lookupsFresh.Inc()
	return snap, true
}

// Peek returns the latest snapshot (nil before the first answer) and
// whether it is fresh enough to score with, without counting a lookup: for
// a view of the cluster, not for scoring. It never blocks on Prometheus.
func (s *Source) Peek() (*Snapshot, bool) {
	if s == nil {
		return nil, false
	}
	snap := s.snap.Load()
	return snap, s.fresh(snap)
}

// RecordMissing counts n nodes scored without load although the data was
// fresh: Prometheus simply had no series for them.
func (s *Source) RecordMissing(n int) {
	if s == nil || n <= 0 {
		return
	}
	s.metrics.nodesWithout.Add(float64(n))
}

func (s *Source) fresh(snap *Snapshot) bool {
	if snap == nil {
		return false
	}
	return s.clock.Since(snap.At) <= time.Duration(s.cfg.StaleAfter)*s.cfg.Interval
}

// Run refreshes at once and then every interval until ctx ends; it always
// returns nil after ctx ends, since failures only make the data stale.
func (s *Source) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("load")
	ctx = klog.NewContext(ctx, logger)
	logger.Info("Reading GPU load from Prometheus", "interval", s.cfg.Interval, "staleAfter", s.cfg.StaleAfter,
		"utilMetric", s.cfg.UtilMetric, "memoryMetric", s.cfg.MemoryMetric)
	ticker := s.clock.NewTicker(s.cfg.Interval)
	defer ticker.Stop()
	for {
		_ = s.Refresh(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
	}
}

// Refresh queries Prometheus once and, on success, publishes a new snapshot.
// Either way it updates the metrics and logs when the data turns stale or
// fresh again.
func (s *Source) Refresh(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	start := s.clock.Now()
	snap, err := s.query(ctx)
	end := s.clock.Now()
	s.metrics.refreshSeconds.Observe(end.Sub(start).Seconds())

	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes++
	if err != nil {
		s.metrics.refreshFailed.Inc()
		s.lastErr = err
		logger.V(2).Info("GPU load refresh failed", "err", err)
	} else {
		s.metrics.refreshOK.Inc()
		s.metrics.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
		s.metrics.cards.Set(float64(snap.Cards()))
		s.lastErr = nil
		s.snap.Store(snap)
	}
	stale := !s.fresh(s.snap.Load())
	switch {
	case stale && !s.wasStale:
		logger.Error(err, "GPU load data is stale; scoring without load until Prometheus answers again",
			"lastSuccess", s.snap.Load().At, "staleAfter", time.Duration(s.cfg.StaleAfter)*s.cfg.Interval)
	case stale && s.refreshes == 1:
		logger.Error(err, "No GPU load data yet; scoring without load until Prometheus answers")
	case !stale && s.wasStale:
		logger.Info("GPU load data is fresh; scoring with load", "nodes", snap.Nodes(), "cards", snap.Cards())
	}
	s.wasStale = stale
	if stale {
		s.metrics.stale.Set(1)
	} else {
		s.metrics.stale.Set(0)
	}
	return err
}

func (s *Source) query(ctx context.Context) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	b := newSnapshotBuilder()
	util, err := s.vector(ctx, s.cfg.UtilMetric)
	if err != nil {
		return nil, err
	}
	mem, err := s.vector(ctx, s.cfg.MemoryMetric)
	if err != nil {
		return nil, err
	}
	for _, smp := range util {
		if c := s.cardOf(b, smp); c != nil {
			c.Util, c.HasUtil = min(max(float64(smp.Value), 0), 100), true
		}
	}
	for _, smp := range mem {
		if c := s.cardOf(b, smp); c != nil {
			c.MemoryUsedMiB, c.HasMemory = max(float64(smp.Value), 0), true
		}
	}
	return b.build(s.clock.Now()), nil
}

// promQL returns the query for one metric: grouped by the card's labels so
// that several exporters scraping the same card count once.
func (s *Source) promQL(metric string) string {
	by := s.cfg.NodeLabel + ", " + s.cfg.IndexLabel + ", " + s.cfg.UUIDLabel
	if s.cfg.Window > 0 {
		return fmt.Sprintf("max by (%s) (avg_over_time(%s[%s]))", by, metric, model.Duration(s.cfg.Window))
	}
	return fmt.Sprintf("max by (%s) (%s)", by, metric)
}

func (s *Source) vector(ctx context.Context, metric string) (model.Vector, error) {
	q := s.promQL(metric)
	v, warnings, _, err := s.api.Query(ctx, q, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrQuery, q, err)
	}
	if len(warnings) > 0 {
		klog.FromContext(ctx).V(2).Info("Prometheus warned about a load query", "query", q, "warnings", warnings)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%w: %s: got a %s, want an instant vector", ErrQuery, q, typeOf(v))
	}
	return vec, nil
}

func typeOf(v model.Value) string {
	if v == nil {
		return "empty answer"
	}
	return v.Type().String()
}

// cardOf returns where a sample's value goes, or nil (counted) when the
// sample cannot be tied to a card or its value is not a number.
func (s *Source) cardOf(b *snapshotBuilder, smp *model.Sample) *CardLoad {
	node := string(smp.Metric[model.LabelName(s.cfg.NodeLabel)])
	uuid := string(smp.Metric[model.LabelName(s.cfg.UUIDLabel)])
	index := -1
	if raw, ok := smp.Metric[model.LabelName(s.cfg.IndexLabel)]; ok {
		if i, err := strconv.Atoi(string(raw)); err == nil && i >= 0 {
			index = i
		}
	}
	v := float64(smp.Value)
	if node == "" || (index < 0 && uuid == "") || math.IsNaN(v) || math.IsInf(v, 0) {
		s.metrics.samplesIgnored.Inc()
		return nil
	}
	return b.card(node, index, uuid)
}
