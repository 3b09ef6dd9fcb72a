package api

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// Pool is the pool of hosts the daemon is a member of (actors/pool).
type Pool interface {
	// Self returns this host's name in the pool.
	Self() string
	// Hosts lists the pool's hosts, up or down.
	Hosts(ctx context.Context) ([]*messages.PoolHost, error)
	// VMs lists the VMs of every host with where they run; those of a host
	// that is down are in power state unknown.
	VMs(ctx context.Context) ([]*messages.PoolVM, error)
	// Route runs req on the host named host and returns its Response,
	// with Response.host set.
	Route(ctx context.Context, host string, req *messages.Request) (*messages.Response, error)
	// LeastLoaded returns the host that is up with the most free memory.
	LeastLoaded(ctx context.Context) (string, error)
	// Evacuate moves every VM of host to the other hosts, batch at a time,
	// and reports each.
	Evacuate(ctx context.Context, host string, batch int) ([]*messages.EvacuatedVM, error)
	// MigrationTarget returns the migration listener's address of the
	// member named host and the TLS config that authenticates this member
	// to it (its pool certificate; no token).
	MigrationTarget(ctx context.Context, host string) (string, *tls.Config, error)
}

// routed reports whether req asks to run on a pool host.
func routed(req *messages.Request) bool { return req.GetHost() != "" || req.GetLeastLoaded() }

// route runs req on the host it names, or the least loaded one: here for
// this host, else through the pool. Without a pool only this host's name is
// served (least_loaded then runs here).
func (s *server) route(ctx context.Context, req *messages.Request) (*messages.Response, error) {
	if req.GetHost() != "" && req.GetLeastLoaded() {
		return nil, fmt.Errorf("%w: a request names a host or asks for the least loaded one, not both",
			errdefs.ErrInvalid)
	}
	self := s.cfg.Hostname
	if s.cfg.Pool != nil {
		self = s.cfg.Pool.Self()
	}
	host := req.GetHost()
	if req.GetLeastLoaded() && s.cfg.Pool != nil {
		lctx, cancel := s.withTimeout(ctx)
		h, err := s.cfg.Pool.LeastLoaded(lctx)
		cancel()
		if err != nil {
			return nil, err
		}
		host = h
	}
	if host == "" || host == self {
		resp, err := s.dispatch(ctx, req)
		if err != nil {
			return nil, err
		}
		resp.Host = self
		return resp, nil
	}
	if s.cfg.Pool == nil {
		return nil, fmt.Errorf("%w: host %s: this daemon (%s) is not in a pool", errdefs.ErrNotFound, host, self)
	}
	// The long polls wait on the other host for up to MaxWait; the other
	// ops take its own Timeout at most, but an evacuation, which takes as
	// long as its VMs.
	if req.GetPoolEvacuate() == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.MaxWait+s.cfg.Timeout)
		defer cancel()
	}
	return s.cfg.Pool.Route(ctx, host, req)
}

// poolHosts answers PoolHosts.
func (s *server) poolHosts(ctx context.Context) (*messages.Response, error) {
	if s.cfg.Pool == nil {
		return nil, errNoPool
	}
	hosts, err := s.cfg.Pool.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	return &messages.Response{Result: &messages.Response_PoolHosts{PoolHosts: &messages.PoolHostList{Hosts: hosts}}}, nil
}

// poolVMs answers PoolVMs.
func (s *server) poolVMs(ctx context.Context) (*messages.Response, error) {
	if s.cfg.Pool == nil {
		return nil, errNoPool
	}
	vms, err := s.cfg.Pool.VMs(ctx)
	if err != nil {
		return nil, err
	}
	return &messages.Response{Result: &messages.Response_PoolVms{PoolVms: &messages.PoolVMList{Vms: vms}}}, nil
}

// poolEvacuate answers PoolEvacuate. It runs without the request timeout:
// it lasts as long as its VMs' moves, each bounded by its own operation.
func (s *server) poolEvacuate(ctx context.Context, req *messages.PoolEvacuateRequest) (*messages.Response, error) {
	if s.cfg.Pool == nil {
		return nil, errNoPool
	}
	if req.GetHost() == "" {
		return nil, fmt.Errorf("%w: evacuate which host?", errdefs.ErrInvalid)
	}
	vms, err := s.cfg.Pool.Evacuate(ctx, req.GetHost(), int(req.GetBatch()))
	if err != nil {
		return nil, err
	}
	return &messages.Response{Result: &messages.Response_PoolEvacuation{PoolEvacuation: &messages.PoolEvacuation{
		Vms: vms}}}, nil
}

// errNoPool is the error of the pool ops on a daemon not in a pool.
var errNoPool = fmt.Errorf("%w: this daemon is not in a pool (xenactord -pool-addr)", errdefs.ErrNotImplemented)
