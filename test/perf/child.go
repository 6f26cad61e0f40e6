package perf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// child is a program the harness started and stops: the extender under
// measurement or the webhook binary.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan error
	// exited closes when the child has stopped.
	exited chan struct{}
}

// startChild starts path with args, its stderr into logPath, and returns
// its stdout for the caller to read the ready line from.
func startChild(name, path string, args []string, logPath string) (*child, io.Reader, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the log of %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stderr = log
	cmd.SysProcAttr = childSysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		log.Close()
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: log, done: make(chan error, 1), exited: make(chan struct{})}
	go func() {
		c.done <- cmd.Wait()
		close(c.exited)
	}()
	return c, stdout, nil
}

// Pid is the child's process id.
func (c *child) Pid() int { return c.cmd.Process.Pid }

// stop asks the child to end (SIGTERM), kills it after grace, and waits.
func (c *child) stop(grace time.Duration) {
	defer c.log.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// readReady reads the first line of r as JSON into v, within timeout; a
// child that exits first is an error naming its log.
func (c *child) readReady(ctx context.Context, r io.Reader, timeout time.Duration, v any) error {
	lines := make(chan []byte, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			lines <- sc.Bytes()
		}
		close(lines)
		// Keep draining so that the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, r)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-lines:
		if !ok {
			return fmt.Errorf("%s exited before it was ready (%w); see %s", c.name, <-c.done, c.log.Name())
		}
		if err := json.Unmarshal(line, v); err != nil {
			return fmt.Errorf("%s printed %q, not its ready line: %w", c.name, line, err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%s not ready within %s; see %s", c.name, timeout, c.log.Name())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errChildExited marks a child that ended while it was needed.
var errChildExited = errors.New("child process exited")
