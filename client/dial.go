package client

import (
	"context"

	"github.com/xenactor/xenactor/internal/apiwire"
)

// Config is where a daemon's API is and the credentials to reach it: the
// client.json a daemon writes into its credentials directory
// (<state-dir>/api/client.json).
type Config = apiwire.ClientConfig

// FindConfig loads the client config at path, or when path is "" the first
// found of $XENACTOR_CONFIG, ./run/state/api/client.json (where `make run`
// puts it) and /var/lib/xenactor/api/client.json.
func FindConfig(path string) (Config, error) { return apiwire.FindClientConfig(path) }

// Dial connects to the daemon cfg names, over TLS with its token or client
// certificate (plaintext when cfg.Insecure, on loopback only), and returns
// a client of its API. A wrong token or certificate fails with an error
// for which errdefs.IsPermission is true, an unreachable daemon
// errdefs.IsUnavailable. One process should hold one connection at a
// time: protoactor's remote layer, which carries it, keeps process-wide
// state.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	conn, err := apiwire.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return New(conn), nil
}
