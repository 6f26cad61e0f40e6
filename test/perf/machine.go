package perf

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Machine is what the figures were measured on.
type Machine struct {
	CPU       string  `json:"cpu"`
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memoryGiB"`
	OS        string  `json:"os"`
	Kernel    string  `json:"kernel,omitempty"`
}

// Versions are the versions of what was measured.
type Versions struct {
	Go string `json:"go"`
	// KubernetesLibraries is the k8s.io/client-go the programs are built with.
	KubernetesLibraries string `json:"kubernetesLibraries"`
	// ControlPlane is what kube-apiserver --version says, when it was run.
	ControlPlane string `json:"controlPlane,omitempty"`
	// Commit is the gpuplane commit, "+changes" when the tree differed from it.
	Commit string `json:"commit,omitempty"`
}

// ReadMachine describes this machine.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = procField(raw, "model name")
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField(raw, "MemTotal"), " kB"), 64); err == nil {
			m.MemoryGiB = float64(int(kb/(1<<20)*10+0.5)) / 10
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(raw []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ReadVersions returns the versions of this build; controlPlaneBin, when
// not empty, is a kube-apiserver whose --version is asked, and root the
// repository whose commit is recorded.
func ReadVersions(ctx context.Context, root, controlPlaneBin string) Versions {
	v := Versions{Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" {
				v.KubernetesLibraries = d.Version
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if controlPlaneBin != "" {
		if out, err := exec.CommandContext(ctx, controlPlaneBin, "--version").Output(); err == nil {
			v.ControlPlane = strings.TrimSpace(string(out))
		}
	}
	if root != "" {
		if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output(); err == nil {
			v.Commit = strings.TrimSpace(string(out))
			status, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--", "pkg", "cmd", "deploy").Output()
			if err == nil && len(bytes.TrimSpace(status)) > 0 {
				v.Commit += "+changes"
			}
		}
	}
	return v
}

// LoadAverage returns the 1-minute load average, -1 when unreadable.
func LoadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// ProcessMemory is a process's resident memory, from /proc/PID/status.
type ProcessMemory struct {
	// RSS is resident now (VmRSS), Peak the most it ever was (VmHWM), in MiB.
	RSS  float64
	Peak float64
}

// ReadProcessMemory reads pid's resident memory.
func ReadProcessMemory(pid int) (ProcessMemory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcessMemory{}, fmt.Errorf("reading the memory of process %d: %w", pid, err)
	}
	return parseProcessMemory(raw)
}

func parseProcessMemory(raw []byte) (ProcessMemory, error) {
	kib := func(key string) (float64, error) {
		v := strings.TrimSuffix(procField(raw, key), " kB")
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("no %s in the process status: %w", key, err)
		}
		return n / 1024, nil
	}
	rss, err := kib("VmRSS")
	if err != nil {
		return ProcessMemory{}, err
	}
	peak, err := kib("VmHWM")
	if err != nil {
		return ProcessMemory{}, err
	}
	return ProcessMemory{RSS: rss, Peak: peak}, nil
}

// ProcessCPU returns the CPU time pid has used (user and system), from
// /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of process %d: %w", pid, err)
	}
	return parseProcessCPU(raw)
}

// clockTicks is USER_HZ, 100 on every Linux the project runs on.
const clockTicks = 100

func parseProcessCPU(raw []byte) (time.Duration, error) {
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its closing parenthesis.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable process stat %q", raw)
	}
	f := strings.Fields(string(raw[i+1:]))
	// After the name: state is field 3, utime 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process stat has %d fields after the name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("unreadable CPU times %q %q in the process stat", f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
