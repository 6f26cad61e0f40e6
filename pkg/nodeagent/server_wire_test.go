package nodeagent

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

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
	opts := Options{MetricsBindAddress: "127.0.0.1:0", HealthProbeBindAddress: "0"}
	deps := Deps{Registry: prometheus.NewRegistry(), Bound: func(a net.Addr) { bound <- a }}
	done, err := startServers(ctx, opts, deps, newHealth(clock.RealClock{}, time.Minute))
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
			t.Fatalf("startServers: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop")
	}
	wiretest.NoLeaks(t, ignore)
}

// TestStartServers: the metrics and probe addresses give one server, two or
// none; each logs the address it bound under its name, and a port already
// taken fails the start with nothing left serving.
func TestStartServers(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name             string
		metrics, probes  string
		logged           []string
		wantErr          bool
		metricsAt, ready int // which bound server answers /metrics and /readyz; -1 for none
	}{
		{name: "one address", metrics: "127.0.0.1:0", probes: "127.0.0.1:0", logged: []string{"Serving metrics and health"}, ready: 0},
		// Two addresses that differ as strings, each a port the kernel picks.
		{name: "two addresses", metrics: "127.0.0.1:0", probes: "127.0.0.1:00", logged: []string{"Serving metrics", "Serving health probes"}, ready: 1},
		{name: "probes only", metrics: "0", probes: "127.0.0.1:0", logged: []string{"Serving health probes"}, metricsAt: -1},
		{name: "none", metrics: "0", probes: "", metricsAt: -1, ready: -1},
		{name: "probe port taken", metrics: "127.0.0.1:0", probes: taken.Addr().String(), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			var mu sync.Mutex
			var bound []string
			logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
			ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
			defer cancel()
			done, err := startServers(ctx, Options{MetricsBindAddress: tc.metrics, HealthProbeBindAddress: tc.probes},
				Deps{Registry: prometheus.NewRegistry(), Bound: func(a net.Addr) {
					mu.Lock()
					defer mu.Unlock()
					bound = append(bound, a.String())
				}}, newHealth(clock.RealClock{}, time.Minute))
			if (err != nil) != tc.wantErr {
				t.Fatalf("startServers = %v, want an error %v", err, tc.wantErr)
			}
			if err != nil {
				cancel()
				wiretest.NoLeaks(t, ignore)
				return
			}
			if len(bound) != len(tc.logged) {
				t.Fatalf("bound %v, want %d servers", bound, len(tc.logged))
			}
			var logged []string
			for _, e := range logger.GetSink().(ktesting.Underlier).GetBuffer().Data() {
				logged = append(logged, e.Message)
			}
			if !slices.Equal(logged, tc.logged) {
				t.Errorf("logged %q, want %q", logged, tc.logged)
			}
			for what, at := range map[string]int{"/metrics": tc.metricsAt, "/readyz": tc.ready} {
				if at < 0 {
					continue
				}
				resp, err := http.Get("http://" + bound[at] + what)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusNotFound {
					t.Errorf("GET %s on %s: 404", what, bound[at])
				}
			}
			http.DefaultClient.CloseIdleConnections()
			cancel()
			if len(bound) > 0 {
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("servers ended with %v", err)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("the servers did not stop")
				}
			}
			wiretest.NoLeaks(t, ignore)
		})
	}
}
