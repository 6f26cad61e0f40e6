package perf

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// findProcess returns the id of a process of this user whose command line
// holds every one of parts, 0 when none does. The harness uses it to find
// the programs test/cluster started (by their unique paths) for their CPU
// time and ports.
func findProcess(parts ...string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		line := string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return pid
		}
	}
	return 0
}

// processFlag returns the value of --name=value on pid's command line.
func processFlag(pid int, name string) string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	for _, arg := range bytes.Split(raw, []byte{0}) {
		if v, ok := strings.CutPrefix(string(arg), "--"+name+"="); ok {
			return v
		}
	}
	return ""
}
