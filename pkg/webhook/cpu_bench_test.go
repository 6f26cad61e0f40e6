//go:build unix

package webhook

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports the process's CPU time per operation as "cpu-ns/op" beside the
// wall time: on a machine shared with other work the wall time counts the waits for a
// core, the CPU time only the work (garbage collection included).
type cpuTimer struct{ start time.Duration }

func startCPUTimer() cpuTimer { return cpuTimer{start: processCPU()} }

func (c cpuTimer) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-c.start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
