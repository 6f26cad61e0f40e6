//go:build unix

package wiretest

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestClosedAddr checks that a connection to the address is refused and
// that no listener can take its port while the test runs.
func TestClosedAddr(t *testing.T) {
	addr := ClosedAddr(t)
	_, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dialling %s: %v, want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Errorf("another listener took %s", addr)
	}
}
