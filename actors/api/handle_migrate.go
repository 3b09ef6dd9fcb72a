package api

import (
	"context"
	"fmt"
	"net"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// migrateVM answers MigrateVM: the destination's client.json, read by the
// daemon, gives the CA its migration listener's certificate must chain to
// and the token it checks; or to_host names a member of the daemon's pool
// (migrateToHost).
func (s *server) migrateVM(ctx context.Context, req *messages.MigrateVMRequest) (*messages.Response, error) {
	if err := checkUUID(req.GetUuid()); err != nil {
		return nil, err
	}
	if req.GetToHost() != "" {
		return s.migrateToHost(ctx, req)
	}
	if _, _, err := net.SplitHostPort(req.GetDestination()); err != nil {
		return nil, fmt.Errorf("%w: destination %q: want host:port: %v", errdefs.ErrInvalid, req.GetDestination(), err)
	}
	if req.GetDestinationConfig() == "" {
		return nil, fmt.Errorf("%w: no destination config (the destination's client.json)", errdefs.ErrInvalid)
	}
	cfg, err := apiwire.LoadClientConfig(req.GetDestinationConfig())
	if err != nil {
		return nil, err
	}
	tlsCfg, token, err := apiwire.PeerMaterial(cfg)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, fmt.Errorf("%w: destination config %s names no token", errdefs.ErrInvalid, req.GetDestinationConfig())
	}
	msg := vm.MigrateVM{Dest: req.GetDestination(), Token: token, TLS: tlsCfg, Live: req.GetLive(),
		Compress: req.GetCompress()}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Migrate(ctx, msg)
	})
}

// migrateToHost answers a MigrateVM naming its destination by pool host
// name: the pool gives that member's migration address, and the daemon
// authenticates with its pool certificate.
func (s *server) migrateToHost(ctx context.Context, req *messages.MigrateVMRequest) (*messages.Response, error) {
	if req.GetDestination() != "" || req.GetDestinationConfig() != "" {
		return nil, fmt.Errorf("%w: a migration names its destination by address and config or by pool host, not both",
			errdefs.ErrInvalid)
	}
	if s.cfg.Pool == nil {
		return nil, fmt.Errorf("%w: host %s: this daemon is not in a pool", errdefs.ErrNotFound, req.GetToHost())
	}
	lctx, cancel := s.withTimeout(ctx)
	addr, tlsCfg, err := s.cfg.Pool.MigrationTarget(lctx, req.GetToHost())
	cancel()
	if err != nil {
		return nil, err
	}
	msg := vm.MigrateVM{Dest: addr, TLS: tlsCfg, Live: req.GetLive(), Compress: req.GetCompress()}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Migrate(ctx, msg)
	})
}
