package wiretest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
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

func TestSettle(t *testing.T) {
	base := Goroutines()
	stop := make(chan struct{})
	go func() { <-stop }()
	time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	Settle(t, base) // returns once the goroutine above has ended
	if n := Goroutines(); n > base {
		t.Errorf("%d goroutines after Settle, want at most %d", n, base)
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d is not free to listen on: %v", port, err)
	}
	ln.Close()
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
