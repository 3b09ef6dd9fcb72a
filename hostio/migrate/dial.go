package migrate

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultAddress is where a daemon's migration listener is by default.
const DefaultAddress = "127.0.0.1:7652"

// Dial connects to a destination's migration listener at addr (host:port),
// through TLS when tlsCfg is not nil (the handshake is done before Dial
// returns; the server's name is addr's host unless tlsCfg names one).
func Dial(ctx context.Context, addr string, tlsCfg *tls.Config) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial migration listener %s: %w: %w", addr, err, errdefs.ErrUnavailable)
	}
	if tlsCfg == nil {
		return conn, nil
	}
	if tlsCfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("migration listener %s: %w: %w", addr, err, errdefs.ErrInvalid)
		}
		tlsCfg = tlsCfg.Clone()
		tlsCfg.ServerName = host
	}
	tc := tls.Client(conn, tlsCfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migration listener %s: TLS: %w: %w", addr, err, errdefs.ErrUnavailable)
	}
	return tc, nil
}
