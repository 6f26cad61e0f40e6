package nodeagent

import (
	"go.uber.org/goleak"

	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuplane/gpuplane/internal/wiretest"
)

// TestServeCutsSlowClients: the metrics and probe ports are reachable from
// the pod network, so a client that never finishes its request, or keeps
// an idle connection open, must not hold a goroutine and a socket for
// ever. Each such connection is closed within the server's timeouts, and
// once the server stops no goroutine of it is left.
func TestServeCutsSlowClients(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
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
			answer, closed, err := wiretest.DialStall(addr, tc.sent, 45*time.Second)
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
	wiretest.NoLeaks(t, ignore)
}
