package httpserver

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestOpenAll(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	own, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()

	tests := []struct {
		name    string
		eps     []Endpoint
		want    []string // What of the endpoints that will serve
		wantErr string
	}{
		{
			name: "optional endpoints turned off by an empty or 0 address",
			eps: []Endpoint{
				{What: "api", Addr: "127.0.0.1:0"},
				{What: "metrics", Addr: "", Optional: true},
				{What: "probes", Addr: "0", Optional: true},
			},
			want: []string{"api"},
		},
		{
			name: "a listener passed in is used as it is",
			eps:  []Endpoint{{What: "api", Listener: own}, {What: "metrics", Addr: "127.0.0.1:0", Optional: true}},
			want: []string{"api", "metrics"},
		},
		{
			name:    "a port already taken fails the whole start",
			eps:     []Endpoint{{What: "api", Addr: "127.0.0.1:0"}, {What: "metrics", Addr: taken.Addr().String(), Optional: true}},
			wantErr: "listening for metrics on " + taken.Addr().String(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpenAll(tc.eps)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("OpenAll: err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenAll: %v", err)
			}
			var names []string
			for _, e := range got {
				names = append(names, e.What)
				if e.Listener == nil {
					t.Errorf("%s: no listener", e.What)
				} else if e.Listener != own {
					defer e.Listener.Close()
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("serving %v, want %v", names, tc.want)
			}
		})
	}
}

// A failed start closes the listeners it had opened: the port is free again.
func TestOpenAllClosesOnFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := first.Addr().String()
	first.Close()
	if _, err := OpenAll([]Endpoint{
		{What: "api", Addr: addr, Handler: http.NotFoundHandler()},
		{What: "metrics", Addr: taken.Addr().String()},
	}); err == nil {
		t.Fatal("OpenAll with a taken port succeeded")
	}
	again, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the first endpoint's port %s was not freed: %v", addr, err)
	}
	again.Close()
}
