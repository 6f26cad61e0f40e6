package extendertest

import (
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TimePerPod runs one pod's scheduling as the benchmark's loop and reports,
// besides ns/op and allocations, the process's CPU per pod (cpu-ms/op) and
// the percentiles of the wall time (p50-ms, p99-ms): on a shared, busy
// machine the wall-clock percentiles include waiting for a core, and the
// CPU says what the work itself costs.
func TimePerPod(b *testing.B, one func()) {
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		start := time.Now()
		one()
		durations = append(durations, time.Since(start))
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/1e6/float64(len(durations)), "cpu-ms/op")
	ReportPercentiles(b, durations)
}

// ReportPercentiles adds p50 and p99 of d, in milliseconds.
func ReportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// processCPU is the CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// AnswerSink is a ResponseWriter that keeps the last answer in a buffer it
// reuses, as a server's connection writes each answer into the same
// buffers: httptest's recorder grows a new body per call, garbage that is
// the benchmark's, not the handler's. Reset it before each call.
type AnswerSink struct {
	header http.Header
	Code   int
	Body   []byte
}

// Reset empties the sink for the next call.
func (w *AnswerSink) Reset() {
	if w.header == nil {
		w.header = http.Header{}
	}
	clear(w.header)
	w.Code, w.Body = 0, w.Body[:0]
}

// Header implements http.ResponseWriter.
func (w *AnswerSink) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter.
func (w *AnswerSink) WriteHeader(code int) {
	if w.Code == 0 {
		w.Code = code
	}
}

// Write implements http.ResponseWriter.
func (w *AnswerSink) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.Body = append(w.Body, b...)
	return len(b), nil
}
