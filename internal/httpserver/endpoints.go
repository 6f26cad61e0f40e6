package httpserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"
)

// Endpoint is one server of a program: what it serves (a name for logs and
// errors), where, and how.
type Endpoint struct {
	// What names the server in logs and errors, e.g. "metrics".
	What string
	// Addr is the address to listen on when Listener is nil. An optional
	// endpoint whose Addr is Disabled is left out.
	Addr string
	// Optional marks an endpoint that an empty or "0" Addr turns off (the
	// --*-bind-address flags); a required one always listens.
	Optional bool
	// Listener, when set, is used instead of opening Addr (tests pass their
	// own). Default: opened from Addr.
	Listener net.Listener
	// Handler answers the requests.
	Handler http.Handler
	// TLS, when set, serves over TLS. Default: plain HTTP.
	TLS *tls.Config
}

// OpenAll opens the listener of every endpoint before any serves, so a port
// already taken fails the start cleanly instead of leaving half the servers
// running; on an error it closes what it opened. It returns the endpoints
// that will serve, each with its Listener set.
func OpenAll(endpoints []Endpoint) ([]Endpoint, error) {
	open := make([]Endpoint, 0, len(endpoints))
	for _, e := range endpoints {
		if e.Listener == nil {
			if e.Optional && Disabled(e.Addr) {
				continue
			}
			ln, err := Listen(e.What, e.Addr)
			if err != nil {
				for _, o := range open {
					_ = o.Listener.Close()
				}
				return nil, err
			}
			e.Listener = ln
		}
		open = append(open, e)
	}
	return open, nil
}

// ServeAll serves every endpoint opened by OpenAll in g until ctx ends,
// logging the address each listens on.
func ServeAll(ctx context.Context, g *errgroup.Group, endpoints []Endpoint) {
	logger := klog.FromContext(ctx)
	for _, e := range endpoints {
		logger.Info("Serving "+e.What, "address", e.Listener.Addr().String())
		g.Go(func() error { return Serve(ctx, e.Listener, e.Handler, e.TLS) })
	}
}
