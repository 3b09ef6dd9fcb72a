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
// and the token it checks.
func (s *server) migrateVM(ctx context.Context, req *messages.MigrateVMRequest) (*messages.Response, error) {
	if err := checkUUID(req.GetUuid()); err != nil {
		return nil, err
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
