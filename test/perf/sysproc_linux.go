package perf

import "syscall"

// childSysProcAttr makes a child die with the harness, so that an
// interrupted run leaves no server behind.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
