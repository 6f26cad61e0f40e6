package perf

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) *Latencies {
		l := NewLatencies(len(v))
		for _, x := range v {
			l.Add(time.Duration(x) * time.Millisecond)
		}
		return l
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: Percentile must sort
	}
	tests := []struct {
		name string
		l    *Latencies
		p    float64
		want time.Duration
	}{
		{"empty", ms(), 50, 0},
		{"one sample is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of a hundred is the 99th", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the maximum", ms(hundred...), 100, 100 * time.Millisecond},
		{"p1 of a hundred is the smallest", ms(hundred...), 1, time.Millisecond},
		{"tiny p still takes a sample", ms(5, 6), 0.001, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Percentile(tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestMergeAndMean(t *testing.T) {
	a, b := NewLatencies(2), NewLatencies(1)
	a.Add(time.Millisecond)
	a.Add(3 * time.Millisecond)
	b.Add(5 * time.Millisecond)
	a.Merge(b)
	if a.Len() != 3 || a.Mean() != 3*time.Millisecond {
		t.Errorf("merged %d samples, mean %v; want 3 and 3ms", a.Len(), a.Mean())
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		name          string
		in            []float64
		lo, med, high float64
	}{
		{"none", nil, 0, 0, 0},
		{"one", []float64{4}, 4, 4, 4},
		{"odd count", []float64{9, 1, 5}, 1, 5, 9},
		{"even count averages the middle", []float64{4, 1, 3, 2}, 1, 2.5, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, med, hi := Spread(tt.in)
			if lo != tt.lo || med != tt.med || hi != tt.high {
				t.Errorf("Spread(%v) = %v %v %v, want %v %v %v", tt.in, lo, med, hi, tt.lo, tt.med, tt.high)
			}
		})
	}
}
