package perf

import (
	"os"
	"testing"
	"time"
)

func TestParseProcessMemory(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ProcessMemory
		wantErr bool
	}{
		{"both", "Name:\textender\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n", ProcessMemory{RSS: 100, Peak: 200}, false},
		{"no RSS", "Name:\tx\nVmHWM:\t1 kB\n", ProcessMemory{}, true},
		{"kernel thread without memory", "Name:\tkthreadd\n", ProcessMemory{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcessMemory([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseProcessMemory = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseProcessCPU(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "42 (extender) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1 1 1", 3 * time.Second, false},
		{"name with spaces and parens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 1 1 1", time.Second, false},
		{"truncated", "7 (x) R 1 2", 0, true},
		{"negative ticks", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 -100 0 0 0 20 0 1 0 1 1 1", 0, true},
		{"no name", "garbage", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcessCPU([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseProcessCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestReadOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	m, err := ReadProcessMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Errorf("own memory %+v: want 0 < RSS <= peak", m)
	}
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Error(err)
	}
}
