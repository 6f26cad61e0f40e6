//go:build unix && !linux

package cluster

import "syscall"

// sysProcAttr puts a program in its own process group, so that stopping it reaches
// everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
