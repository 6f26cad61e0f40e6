package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

func TestProcessStopEndsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// The shell starts a child that ignores SIGTERM, records its pid, and waits.
	script := `trap '' TERM; sleep 300 & echo $! > ` + pidFile + `; echo started; wait`
	p, err := StartProcess("sh", "/bin/sh", []string{"-c", script}, filepath.Join(dir, "sh.log"))
	if err != nil {
		t.Fatal(err)
	}
	var childPid int
	_ = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		if data, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(data), "\n") {
			childPid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		return childPid != 0, nil
	})
	if childPid == 0 {
		p.Stop(time.Second)
		t.Fatalf("child never started; log:\n%s", p.LogTail(1024))
	}

	p.Stop(200 * time.Millisecond)

	select {
	case <-p.Exited():
	default:
		t.Fatal("process still running after stop")
	}
	// The child is not ours to reap; it is gone once signalling it fails (or it is a
	// zombie waiting for init, which /proc shows as state Z).
	_ = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return syscall.Kill(childPid, 0) != nil || isZombie(childPid), nil
	})
	if syscall.Kill(childPid, 0) == nil && !isZombie(childPid) {
		t.Errorf("child %d of the stopped process still runs", childPid)
	}
	if got := p.LogTail(1024); !strings.Contains(got, "started") {
		t.Errorf("log tail = %q, want the program's output", got)
	}
}

func isZombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestProcessExitIsReported(t *testing.T) {
	dir := t.TempDir()
	p, err := StartProcess("false", "/bin/sh", []string{"-c", "echo boom; exit 3"}, filepath.Join(dir, "f.log"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		p.Stop(time.Second)
		t.Fatal("process did not exit")
	}
	if err := p.ExitError(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("exitError = %v, want exit status 3", err)
	}
	p.Stop(time.Second) // stopping an ended process is fine
}

func TestFileTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	var b strings.Builder
	for i := range 100 {
		b.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		maxBytes int64
		want     string
	}{
		{name: "whole file", maxBytes: 1 << 20, want: b.String()},
		{name: "cut at a line start", maxBytes: 20, want: "line 98\nline 99\n"},
		{name: "exact lines", maxBytes: 16, want: "line 99\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FileTail(path, tt.maxBytes); got != tt.want {
				t.Errorf("FileTail(%d) = %q, want %q", tt.maxBytes, got, tt.want)
			}
		})
	}
	if got := FileTail(filepath.Join(dir, "absent"), 10); !strings.Contains(got, "unreadable") {
		t.Errorf("FileTail(absent) = %q, want a note that it is unreadable", got)
	}
}
