package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a program running in its own process group with its output
// going to a log file: the control plane's programs, and those the demo
// starts beside them. Its own group lets a terminal's Ctrl-C reach the
// caller alone, and lets Stop end whatever the program started.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// StartProcess runs path with args; stdout and stderr go to logPath.
func StartProcess(name, path string, args []string, logPath string) (*Process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, path, err)
	}
	p := &Process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// Name is the name the process was started with, for messages.
func (p *Process) Name() string { return p.name }

// LogPath is the file its output goes to.
func (p *Process) LogPath() string { return p.logPath }

// Exited is closed once the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitError says how the process ended; only meaningful once Exited is closed.
func (p *Process) ExitError() error {
	if p.waitErr == nil {
		return fmt.Errorf("%s exited with status 0", p.name)
	}
	return fmt.Errorf("%s exited: %w", p.name, p.waitErr)
}

// Stop asks the whole process group to terminate, and kills it after grace;
// it reports a program that had to be killed. Calling it on a process that
// already ended is fine.
func (p *Process) Stop(grace time.Duration) error {
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
	// Anything the program forked into its group goes too; ESRCH when nothing is left.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return err
}

// LogTail returns about the last maxBytes of the process's log.
func (p *Process) LogTail(maxBytes int64) string {
	return FileTail(p.logPath, maxBytes)
}

// FileTail returns about the last maxBytes of a file, from a line start, or a
// note saying why it could not be read; the demo uses it for its programs' logs.
func FileTail(path string, maxBytes int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(log %s unreadable: %v)", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(log %s unreadable: %v)", path, err)
	}
	off := max(info.Size()-maxBytes, 0)
	buf, err := io.ReadAll(io.NewSectionReader(f, off, info.Size()-off))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(log %s unreadable: %v)", path, err)
	}
	if off > 0 {
		// Start at a whole line.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return string(buf)
}
