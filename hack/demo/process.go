package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// process is one of gpuplane's programs, run in its own process group with its
// output in a log file, so that Ctrl-C reaches the demo alone and the demo stops the
// programs in order.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

func startProcess(name, path string, args []string, logPath string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, path, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// failed returns why the process ended, or nil while it runs.
func (p *process) failed() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); the end of its log:\n%s", p.name, p.waitErr, cluster.FileTail(p.logPath, 3000))
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group and SIGKILL after grace. It reports a
// program that had to be killed; one that already ended is fine.
func (p *process) stop(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	var err error
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
			err = fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, grace)
		}
	}
	// Whatever the program started in its group goes too; ESRCH when nothing is left.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return err
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago; a program
// that loses it to another one fails to start, which the demo reports.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
