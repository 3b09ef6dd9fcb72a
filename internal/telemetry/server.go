package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// MetricsPath is where Serve answers.
const MetricsPath = "/metrics"

// readHeaderTimeout bounds a scraper's request headers.
const readHeaderTimeout = 10 * time.Second

// Server serves the registry on MetricsPath.
type Server struct {
	srv  *http.Server
	l    net.Listener
	done chan error
}

// Serve listens on addr (host:port; port 0 picks one) and serves Handler
// on MetricsPath until Close.
func Serve(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listen on %s: %w", addr, errors.Join(errdefs.ErrUnavailable, err))
	}
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, Handler())
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}, l: l,
		done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.l.Addr().String() }

// URL returns the metrics URL: http://<addr>/metrics.
func (s *Server) URL() string { return "http://" + s.Addr() + MetricsPath }

// Close stops the server, waiting up to 5 s for scrapes in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
