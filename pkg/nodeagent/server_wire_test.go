package nodeagent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestServeCutsSlowClients: the metrics and probe ports are reachable from
// the pod network, so a client that never finishes its request, or keeps
// an idle connection open, must not hold a goroutine and a socket for
// ever. Each such connection is closed within the server's timeouts, and
// once the server stops no goroutine of it is left.
func TestServeCutsSlowClients(t *testing.T) {
	runtime.GC()
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan net.Addr, 1)
	done, err := serve(ctx, "127.0.0.1:0", newMetricsMux(prometheus.NewRegistry()), func(a net.Addr) { bound <- a })
	if err != nil {
		t.Fatal(err)
	}
	addr := (<-bound).String()

	cases := []struct {
		name string
		sent string
		// answered: the server answers before it cuts the connection.
		answered bool
	}{
		{name: "headers never finished", sent: "GET /metrics HTTP/1.1\r\nHost: x\r\n"},
		{name: "body never finished", sent: "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", answered: true},
		{name: "idle after a request", sent: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", answered: true},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			answer, closed, err := stall(addr, tc.sent, 45*time.Second)
			switch {
			case err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case !closed:
				t.Errorf("%s: the connection was still open after 45s", tc.name)
			case tc.answered && len(answer) == 0:
				t.Errorf("%s: closed without an answer", tc.name)
			}
		})
	}
	wg.Wait()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stall writes sent on a new connection, then reads until the server closes
// it (closed) or limit passes; it returns what the server sent.
func stall(addr, sent string, limit time.Duration) (answer []byte, closed bool, err error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, sent); err != nil {
		return nil, false, err
	}
	if err := conn.SetReadDeadline(time.Now().Add(limit)); err != nil {
		return nil, false, err
	}
	answer, err = io.ReadAll(bufio.NewReader(conn))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return answer, false, nil
	}
	return answer, true, nil
}
