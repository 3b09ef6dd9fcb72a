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

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/netserve"
)

// Path is the prefix the profiles are served under.
const Path = "/debug/pprof/"

// Server serves the profiles until Close, which cuts a profile in
// progress short.
type Server struct{ *netserve.HTTPServer }

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
	mux := http.NewServeMux()
	mux.HandleFunc(Path, pprof.Index)
	mux.HandleFunc(Path+"cmdline", pprof.Cmdline)
	mux.HandleFunc(Path+"profile", pprof.Profile)
	mux.HandleFunc(Path+"symbol", pprof.Symbol)
	mux.HandleFunc(Path+"trace", pprof.Trace)
	s, err := netserve.ServeHTTP(addr, mux, 0)
	if err != nil {
		return nil, fmt.Errorf("pprofserve: %w", err)
	}
	return &Server{s}, nil
}
