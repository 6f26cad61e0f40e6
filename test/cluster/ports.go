package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"k8s.io/klog/v2"
)

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment ago.
// The listeners are all held until every port is drawn so that one call never returns
// the same port twice. etcd, kube-apiserver and kube-scheduler take a port number, not
// a listener, and port 0 turns their servers off, so another process can still take a
// port before the program binds it: RetryOnTakenPorts then starts the program again.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portAttempts is how many times in all a program is started on freshly drawn ports.
const portAttempts = 3

// RetryOnTakenPorts is for a program that takes port numbers and cannot be
// given a listener or port 0 (etcd, kube-apiserver, kube-scheduler, KEDA's
// servers): it draws n ports of 127.0.0.1 and calls start with them, and
// again with fresh ports while start says that the program failed because
// one of them was taken before it listened (taken), up to portAttempts
// starts in all. what names the program in the log line of a retry. It
// returns start's last error.
func RetryOnTakenPorts(ctx context.Context, what string, n int, start func(ports []int) (taken bool, err error)) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(n)
		if err != nil {
			return err
		}
		taken, err := start(ports)
		if err == nil || attempt == portAttempts || !taken {
			return err
		}
		klog.FromContext(ctx).Info("A port drawn for the program was taken before it listened; starting it on other ports",
			"program", what, "ports", ports, "attempt", attempt)
	}
}

// startOnFreePorts starts a Process of this package with RetryOnTakenPorts:
// start returns the process it started, if any, and whether it became ready;
// keep, when not nil, learns every process returned, so that the caller can
// stop it. A process that exited saying "address already in use" is started
// again, on a log of its own.
func startOnFreePorts(ctx context.Context, what string, n int, keep func(*Process), start func(ports []int) (*Process, error)) error {
	var last *Process
	return RetryOnTakenPorts(ctx, what, n, func(ports []int) (bool, error) {
		// The next start appends to the same log, which must then show its own failure.
		if last != nil {
			if err := os.Remove(last.LogPath()); err != nil {
				return false, fmt.Errorf("removing the log of a failed start: %w", err)
			}
		}
		p, err := start(ports)
		if p != nil && keep != nil {
			keep(p)
		}
		last = p
		return portTaken(p), err
	})
}

// portTaken tells whether p exited because an address it was to listen on was in use.
func portTaken(p *Process) bool {
	if p == nil {
		return false
	}
	select {
	case <-p.Exited():
		return strings.Contains(p.LogTail(logTailBytes), "address already in use")
	default:
		return false
	}
}
