package cluster

import "syscall"

// sysProcAttr puts a program in its own process group, so that stopping it reaches
// everything it started, and has the kernel kill it should the test process die
// before it can stop it (a test timeout skips cleanups).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
