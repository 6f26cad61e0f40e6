package wiretest

import (
	"net"
	"testing"
)

// FreePort is a TCP port of 127.0.0.1 that was free a moment ago, for a
// program that takes a port number and neither a listener nor port 0 (a
// tool of the test bed such as Prometheus). Another process may take it
// before the program listens: the caller starts the program again on
// another port when it fails with "address already in use". A server of
// this project takes a listener, or port 0 and logs what it bound (see
// BoundLog and LoggedAddr): use that instead.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
