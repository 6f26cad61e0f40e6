package httpserver

import (
	"go.uber.org/goleak"

	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/internal/wiretest"
)

// logLines is a logger that keeps its lines, safe for concurrent use.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() context.Context {
	return klog.NewContext(context.Background(), funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
	}, funcr.Options{}))
}

func (l *logLines) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// start serves h on a loopback port until the test ends and returns the
// address, the stop function (which also waits for Serve) and Serve's result.
func start(t *testing.T, ctx context.Context, h http.Handler) (string, func() error) {
	t.Helper()
	ln, err := Listen("the test server", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, nil) }()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(ShutdownGrace + 10*time.Second):
				result = errors.New("Serve did not return after its context ended")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return ln.Addr().String(), stop
}

// TestServeLetsRequestsInFlightFinish: when the context ends, a request being
// answered is answered whole, and Serve returns nil after it.
func TestServeLetsRequestsInFlightFinish(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	entered, release := make(chan struct{}), make(chan struct{})
	addr, stop := start(t, context.Background(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		// The request's context outlives the server's: it is not cancelled by the stop.
		if err := r.Context().Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "finished")
	}))
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- string(body)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if got := <-answer; got != "finished" {
		t.Errorf("answer %q, want the whole answer", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve = %v, want nil after a stop", err)
	}
	http.DefaultClient.CloseIdleConnections()
	wiretest.NoLeaks(t, ignore)
}

// TestServeGivesRequestsTheLogger: handlers log with the logger of Serve's
// context, and net/http's own errors land in it too.
func TestServeGivesRequestsTheLogger(t *testing.T) {
	var lines logLines
	addr, stop := start(t, lines.logger(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		klog.FromContext(r.Context()).Info("handled", "path", r.URL.Path)
	}))
	resp, err := http.Get("http://" + addr + "/here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !lines.contains(`"msg"="handled" "path"="/here"`) {
		t.Errorf("the handler's line is not in the server's logger: %q", lines.lines)
	}
}

// TestServeErrorLogGoesToTheLogger: net/http's error log (here a panicking
// handler) is written to the logger of Serve's context, with the address.
func TestServeErrorLogGoesToTheLogger(t *testing.T) {
	var lines logLines
	addr, stop := start(t, lines.logger(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !lines.contains("HTTP server error") || !lines.contains("boom") || !lines.contains(addr) {
		t.Errorf("the panic is not logged with the address: %q", lines.lines)
	}
}

// TestServeReturnsTheServerError: a listener that fails stops Serve with its
// error, without waiting for the context.
func TestServeReturnsTheServerError(t *testing.T) {
	ln, err := Listen("the test server", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = Serve(context.Background(), ln, http.NotFoundHandler(), nil)
	if err == nil || !strings.Contains(err.Error(), "serving on") {
		t.Errorf("Serve on a closed listener = %v, want the serving error", err)
	}
}

// TestServeCutsSlowClients: each connection that stalls is closed within the
// limits above (headers 10s, request 30s, idle 30s), answered where the
// request was read.
func TestServeCutsSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 30s read and idle timeouts")
	}
	ignore := goleak.IgnoreCurrent()
	addr, stop := start(t, context.Background(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	cases := []struct {
		name     string
		sent     string
		answered bool
	}{
		{name: "nothing sent"},
		{name: "headers never finished", sent: "GET / HTTP/1.1\r\nHost: x\r\n"},
		{name: "body never finished", sent: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", answered: true},
		{name: "idle after a request", sent: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", answered: true},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			answer, closed, err := wiretest.DialStall(addr, tc.sent, ReadTimeout+15*time.Second)
			switch {
			case err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case !closed:
				t.Errorf("%s: the connection was still open after %s", tc.name, ReadTimeout+15*time.Second)
			case tc.answered && len(answer) == 0:
				t.Errorf("%s: closed without an answer", tc.name)
			}
		})
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	wiretest.NoLeaks(t, ignore)
}

// TestServeRefusesHugeHeaders: headers past MaxHeaderBytes get 431.
func TestServeRefusesHugeHeaders(t *testing.T) {
	addr, _ := start(t, context.Background(), http.NotFoundHandler())
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", MaxHeaderBytes+8<<10) + "\r\n\r\n"
	go func() { _, _ = io.WriteString(conn, req) }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

func TestDisabled(t *testing.T) {
	for addr, want := range map[string]bool{"": true, "0": true, ":8080": false, "127.0.0.1:0": false, "00": false} {
		if got := Disabled(addr); got != want {
			t.Errorf("Disabled(%q) = %v, want %v", addr, got, want)
		}
	}
}
