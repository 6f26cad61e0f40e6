package main

import "syscall"

// sysProcAttr puts a program in its own process group and has the kernel kill it
// should the demo die without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
