//go:build unix

package wiretest

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// ClosedAddr is an address of 127.0.0.1 where a connection is refused
// until the test ends, for a program that must meet nothing listening
// (an exporter that is not there). The port is bound but never listened
// on: no other program can take it meanwhile, as it could a port found
// free and let go.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening a socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("binding a port of 127.0.0.1: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("reading the port bound: %v", err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
