package main

import (
	"fmt"
	"net"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// failed returns why a program ended, with the end of its log, or nil
// while it runs.
func failed(p *cluster.Process) error {
	select {
	case <-p.Exited():
		return fmt.Errorf("%w; the end of its log:\n%s", p.ExitError(), p.LogTail(3000))
	default:
		return nil
	}
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
