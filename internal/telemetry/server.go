package telemetry

import (
	"fmt"
	"net/http"
	"time"

	"github.com/xenactor/xenactor/internal/netserve"
)

// MetricsPath is where Serve answers.
const MetricsPath = "/metrics"

// Server serves the registry on MetricsPath.
type Server struct{ *netserve.HTTPServer }

// Serve listens on addr (host:port; port 0 picks one) and serves Handler
// on MetricsPath until Close, which waits up to 5 s for scrapes in flight.
func Serve(addr string) (*Server, error) {
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, Handler())
	s, err := netserve.ServeHTTP(addr, mux, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return &Server{s}, nil
}

// URL returns the metrics URL: http://<addr>/metrics.
func (s *Server) URL() string { return "http://" + s.Addr() + MetricsPath }
