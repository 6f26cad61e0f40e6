package perf

import (
	"math"
	"slices"
	"time"
)

// Latencies collects request durations, for percentiles. It is not safe for
// concurrent use: each load worker keeps its own and they are merged after.
type Latencies struct {
	d []time.Duration
}

// NewLatencies returns a collector with room for n samples, so that
// recording does not allocate during a timed run.
func NewLatencies(n int) *Latencies { return &Latencies{d: make([]time.Duration, 0, n)} }

// Add records one sample.
func (l *Latencies) Add(d time.Duration) { l.d = append(l.d, d) }

// Len is the number of samples.
func (l *Latencies) Len() int { return len(l.d) }

// Merge appends the samples of others.
func (l *Latencies) Merge(others ...*Latencies) {
	for _, o := range others {
		l.d = append(l.d, o.d...)
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100): the
// smallest sample that at least p% of the samples do not exceed. It sorts
// the samples; 0 when there are none.
func (l *Latencies) Percentile(p float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	rank := int(math.Ceil(p / 100 * float64(len(l.d))))
	return l.d[min(max(rank, 1), len(l.d))-1]
}

// Mean is the average sample; 0 when there are none.
func (l *Latencies) Mean() time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l.d {
		sum += d
	}
	return sum / time.Duration(len(l.d))
}

// Millis is d in milliseconds, the unit every latency figure is reported in.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Spread is the minimum, median and maximum of values (the repeats of one
// figure). The median of an even count is the mean of the middle two.
func Spread(values []float64) (lo, median, hi float64) {
	if len(values) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], median, s[n-1]
}
