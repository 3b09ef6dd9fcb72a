// Package netserve has the accept loop the project's socket servers share,
// and the HTTP server of its /metrics and profile endpoints.
package netserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Accept accepts connections on l and hands each to handle, which must not
// block, until l is closed (Accept returns nil) or fails for good (the
// error). Temporary errors (timeouts) are retried.
func Accept(l net.Listener, handle func(net.Conn)) error {
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		handle(nc)
	}
}

// HTTPServer serves an http.Handler on a TCP listener until Close.
type HTTPServer struct {
	srv   *http.Server
	l     net.Listener
	grace time.Duration
	done  chan error
	once  sync.Once
	err   error
}

// readHeaderTimeout bounds a client's request headers.
const readHeaderTimeout = 10 * time.Second

// ServeHTTP listens on addr (host:port; port 0 picks one) and serves h.
// Close waits up to grace for the requests in flight; 0 cuts them short.
// A listen failure wraps errdefs.ErrUnavailable.
func ServeHTTP(addr string, h http.Handler, grace time.Duration) (*HTTPServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, errors.Join(errdefs.ErrUnavailable, err))
	}
	s := &HTTPServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}, l: l, grace: grace,
		done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *HTTPServer) Addr() string { return s.l.Addr().String() }

// Close stops the server (see ServeHTTP's grace). It is idempotent.
func (s *HTTPServer) Close() error {
	s.once.Do(func() {
		if s.grace > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), s.grace)
			defer cancel()
			s.err = s.srv.Shutdown(ctx)
		} else {
			s.err = s.srv.Close()
		}
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			s.err = errors.Join(s.err, serr)
		}
	})
	return s.err
}
