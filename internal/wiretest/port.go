package wiretest

import (
	"net"
	"testing"
)

// FreePort is a TCP port of 127.0.0.1 that was free a moment ago, for a
// server that takes its port as a setting rather than a listener. Another
// process may take it in between; the server then fails to listen, which
// the test reports.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
