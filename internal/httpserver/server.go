package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// The limits of every server. The ports are reachable from the pod network, so
// a client that never finishes a request, or idles on a kept-alive connection,
// is cut off rather than holding a goroutine and a socket for ever.
const (
	// ReadHeaderTimeout bounds the TLS handshake and the request headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds answering one request, from the end of its headers;
	// the slowest answer is the extender's bind, which waits on the API
	// server twice.
	WriteTimeout = 60 * time.Second
	// IdleTimeout closes a kept-alive connection that sends nothing. A
	// caller that keeps connections (kube-scheduler, the API server,
	// Prometheus) opens a new one after it.
	IdleTimeout = 30 * time.Second
	// MaxHeaderBytes bounds the request headers.
	MaxHeaderBytes = 1 << 20
	// ShutdownGrace bounds how long a stopping server waits for the requests
	// in flight; the API server gives a webhook a few seconds per request and
	// kube-scheduler an extender call about as long, so more would not help.
	ShutdownGrace = 10 * time.Second
)

// Serve serves handler on ln until ctx ends, over TLS when tlsConfig is not
// nil, then waits up to ShutdownGrace for the requests in flight. It returns
// nil after ctx ends, or the error that stopped the server. Requests get the
// logger of ctx (klog.FromContext) but not its end: a stop lets them finish.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, tlsConfig *tls.Config) error {
	srv := New(ctx, handler, ln.Addr().String())
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("stopping the server on %s: %w", ln.Addr(), err)
	}
	return nil
}

// New returns the http.Server that Serve runs, for a caller that drives
// Serve and Shutdown itself: handler with the limits above, the logger of
// ctx in every request's context, and net/http's error log (TLS handshake
// failures, which is how a wrong caBundle shows on this side) in that
// logger, tagged with addr.
func New(ctx context.Context, handler http.Handler, addr string) *http.Server {
	logger := klog.FromContext(ctx)
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// An empty map, not nil, keeps net/http from enabling HTTP/2 on its own
		// over TLS: every client of ours speaks HTTP/1.1, and it keeps
		// HTTP/2's denial-of-service surface (rapid reset) away.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		BaseContext:  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:     log.New(logWriter{logger.WithValues("address", addr)}, "", 0),
	}
}

// Listen opens a TCP listener on addr for what (a name for the error, such
// as "metrics"). Callers open every listener before serving on any, so a
// port already taken fails the start cleanly.
func Listen(what, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for %s on %s: %w", what, addr, err)
	}
	return ln, nil
}

// Disabled tells whether a bind address flag turns its server off: empty or
// "0", as every program's --*-bind-address flags document.
func Disabled(addr string) bool { return addr == "" || addr == "0" }

// logWriter passes the lines of net/http's error log to a structured logger.
type logWriter struct{ logger logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.logger.Info("HTTP server error", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}
