// Package pprofserve serves Go's profiles (net/http/pprof) on a loopback
// address, for a daemon run with an opt-in flag (xenactord and
// xenactor-simhost -pprof-addr): go tool pprof http://<addr>/debug/pprof/profile.
package pprofserve

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Path is the prefix the profiles are served under.
const Path = "/debug/pprof/"

// readHeaderTimeout bounds a client's request headers.
const readHeaderTimeout = 10 * time.Second

// Server serves the profiles until Close.
type Server struct {
	srv  *http.Server
	l    net.Listener
	done chan error
	once sync.Once
	err  error
}

// Serve listens on addr (host:port; port 0 picks one), which must be a
// loopback address: the profiles say much about the process and cost CPU,
// so they are never offered to the network.
func Serve(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pprofserve: %q: %w", addr, errors.Join(errdefs.ErrInvalid, err))
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("pprofserve: %q is not a loopback address: %w", addr, errdefs.ErrInvalid)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprofserve: listen on %s: %w", addr, errors.Join(errdefs.ErrUnavailable, err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc(Path, pprof.Index)
	mux.HandleFunc(Path+"cmdline", pprof.Cmdline)
	mux.HandleFunc(Path+"profile", pprof.Profile)
	mux.HandleFunc(Path+"symbol", pprof.Symbol)
	mux.HandleFunc(Path+"trace", pprof.Trace)
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}, l: l, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.l.Addr().String() }

// Close stops the server; a profile in progress is cut short. Idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.err = s.srv.Close()
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			s.err = errors.Join(s.err, serr)
		}
	})
	return s.err
}
