package wiretest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/goleak"
)

// TestStall checks both outcomes against a loopback listener: a server that
// answers and closes, and one that keeps the connection open.
func TestStall(t *testing.T) {
	cases := []struct {
		name       string
		serve      func(net.Conn) // runs on the accepted connection, which is then closed
		wantClosed bool
		wantAnswer string
	}{
		{
			name: "server answers and closes",
			serve: func(c net.Conn) {
				buf := make([]byte, 5)
				_, _ = io.ReadFull(c, buf)
				_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\n\r\n")
			},
			wantClosed: true, wantAnswer: "HTTP/1.1 408",
		},
		{
			name:       "server holds the connection",
			serve:      func(net.Conn) { time.Sleep(2 * time.Second) },
			wantClosed: false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				tc.serve(c)
				c.Close()
			}()
			answer, closed, err := DialStall(ln.Addr().String(), "GET /", 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if closed != tc.wantClosed || !strings.HasPrefix(string(answer), tc.wantAnswer) {
				t.Errorf("closed %v answer %q, want %v and %q", closed, answer, tc.wantClosed, tc.wantAnswer)
			}
			<-done
		})
	}
}

func TestNoLeaks(t *testing.T) {
	cases := []struct {
		name     string
		lives    time.Duration // how long the goroutine started after IgnoreCurrent runs
		wantFail bool
	}{
		{name: "ends in time", lives: 100 * time.Millisecond},
		{name: "still running", lives: time.Hour, wantFail: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				select {
				case <-stop:
				case <-time.After(tc.lives):
				}
			}()
			rec := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() { // Fatalf ends this goroutine, as it would the test's
				defer close(done)
				noLeaks(rec, time.Second, ignore)
			}()
			<-done
			if (rec.msg != "") != tc.wantFail {
				t.Errorf("noLeaks failed the test with %q, want a failure %v", rec.msg, tc.wantFail)
			}
			if tc.wantFail && !strings.Contains(rec.msg, "TestNoLeaks") {
				t.Errorf("the failure does not show the leaked goroutine's stack: %s", rec.msg)
			}
		})
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, so that a check's failure can be looked at.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestBoundLog(t *testing.T) {
	bound, logger := NewBoundLog(logr.Discard())
	logger = logger.WithName("server").WithValues("k", "v")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		time.Sleep(50 * time.Millisecond)
		logger.V(1).Info("Serving", "address", "not at level 0")
		logger.Info("Serving", "address", ln.Addr().String())
	}()
	if got := bound.Addr(t, "Serving", nil, 5*time.Second); got != ln.Addr().String() {
		t.Errorf("Addr = %q, want %q", got, ln.Addr())
	}
	rec := &fatalRecorder{TB: t}
	exited := make(chan struct{})
	close(exited)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bound.Addr(rec, "Serving metrics", exited, time.Minute)
	}()
	<-done
	if !strings.Contains(rec.msg, "exited") {
		t.Errorf("Addr of a message never logged by an exited program: failure %q, want one saying it exited", rec.msg)
	}
}

func TestLoggedAddr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "program.log")
	first := `I1204 14:00:00.000000   12 run.go:153] "Serving metrics and health" address="127.0.0.1:40001"` + "\n" +
		`I1204 14:00:00.000001   12 run.go:153] "Serving the scheduling API" address="127.0.0.1:40002" policy="auto"` + "\n"
	restart := `I1204 14:00:05.000000   13 run.go:153] "Serving the scheduling API" address="127.0.0.1:40003" policy="auto"` + "\n"
	// A program logging with slog's text handler (Prometheus) quotes the
	// message and leaves the address bare.
	logfmt := `time=2026-12-04T14:00:06.000Z level=INFO source=tls_config.go:354 msg="Listening on" component=web address=127.0.0.1:40004` + "\n" +
		`time=2026-12-04T14:00:06.001Z level=INFO source=tls_config.go:357 msg="TLS is disabled." component=web http2=false address=127.0.0.1:40004` + "\n"
	if err := os.WriteFile(path, []byte(first+restart+logfmt), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		msg  string
		from int64
		want string // "": not found
	}{
		{msg: "Serving metrics and health", want: "127.0.0.1:40001"},
		{msg: "Serving the scheduling API", want: "127.0.0.1:40002"},
		{msg: "Serving the scheduling API", from: int64(len(first)), want: "127.0.0.1:40003"},
		{msg: "Serving metrics and health", from: int64(len(first))},
		{msg: "Serving"}, // only the start of the messages logged
		{msg: "Listening on", want: "127.0.0.1:40004"},
		{msg: "Listening"},
	}
	for _, tc := range cases {
		got, err := LoggedAddr(path, tc.from, tc.msg, nil, 200*time.Millisecond)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("LoggedAddr(%q from %d) = %q, %v; want %q", tc.msg, tc.from, got, err, tc.want)
		}
	}
	exited := make(chan struct{})
	close(exited)
	if _, err := LoggedAddr(path, 0, "Serving probes", exited, time.Minute); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("LoggedAddr of a program that exited = %v, want an error saying so", err)
	}
}

func TestSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, r.Method+" "+r.Header.Get("Content-Type")+" "+string(body))
	}))
	defer srv.Close()
	code, answer := Send(t, srv.Client(), "POST", srv.URL, "application/json", `{}`)
	if code != http.StatusTeapot || string(answer) != "POST application/json {}" {
		t.Errorf("Send = %d %q, want 418 and the request echoed", code, answer)
	}
	if _, answer := Send(t, srv.Client(), "GET", srv.URL, "", ""); string(answer) != "GET  " {
		t.Errorf("Send without a content type = %q, want none sent", answer)
	}
}
