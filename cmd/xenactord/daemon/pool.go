package daemon

import (
	"context"
	"fmt"
	"os"

	"github.com/xenactor/xenactor/actors/pool"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// hostName returns the host's name: cfg.HostName, or the system's.
func (c Config) hostName() (string, error) {
	if c.HostName != "" {
		return c.HostName, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("daemon: host name: %w", err)
	}
	return h, nil
}

// checkPool checks the pool's settings before anything starts.
func (c Config) checkPool() error {
	if c.PoolAddr == "" {
		return nil
	}
	if len(c.Etcd) == 0 {
		return fmt.Errorf("%w: -pool-addr needs -etcd, the etcd the pool lives in", ErrUsage)
	}
	if c.PoolCredentialsDir == "" {
		return fmt.Errorf("%w: -pool-addr needs -pool-credentials, the directory of the pool's CA", ErrUsage)
	}
	if c.APIAddr == "" {
		return fmt.Errorf("%w: -pool-addr needs the API (-api-addr)", ErrUsage)
	}
	h, err := c.hostName()
	if err != nil {
		return err
	}
	if !pool.ValidHostName(h) {
		return fmt.Errorf("%w: host name %q: letters, digits, '.', '_' and '-' (-host-name)", ErrUsage, h)
	}
	return nil
}

// joinPool makes the host a member of the pool when cfg.PoolAddr is set.
// It runs before the API's transport: the pool's remote starts first (both
// write gRPC's global logger). Its forwarder reaches the api actor once it
// runs.
func (d *Daemon) joinPool(ctx context.Context, cfg Config) error {
	if cfg.PoolAddr == "" {
		return nil
	}
	host, err := cfg.hostName()
	if err != nil {
		return err
	}
	creds, err := apiwire.EnsurePoolCredentials(cfg.PoolCredentialsDir, host)
	if err != nil {
		return fmt.Errorf("daemon: pool credentials: %w", err)
	}
	ec, err := etcd.New(cfg.Etcd)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	name := cfg.PoolName
	if name == "" {
		name = DefaultPoolName
	}
	p, err := pool.Start(ctx, pool.Config{Pool: name, Host: host, Address: cfg.PoolAddr, Etcd: ec, Credentials: creds,
		Local: d.localAPI, TTL: cfg.PoolTTL, Logger: d.log})
	if err != nil {
		if errdefs.IsInvalid(err) {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return fmt.Errorf("daemon: joining pool %s: %w", name, err)
	}
	d.pool = p
	d.poolCreds = creds
	return nil
}

// PoolCredentials creates (when missing) and loads the pool credentials of
// cfg's host in cfg.PoolCredentialsDir, and returns the host's name.
func PoolCredentials(cfg Config) (string, error) {
	host, err := cfg.hostName()
	if err != nil {
		return "", err
	}
	if !pool.ValidHostName(host) {
		return "", fmt.Errorf("%w: host name %q: letters, digits, '.', '_' and '-' (-host-name)", ErrUsage, host)
	}
	if _, err := apiwire.EnsurePoolCredentials(cfg.PoolCredentialsDir, host); err != nil {
		return "", fmt.Errorf("daemon: pool credentials: %w", err)
	}
	return host, nil
}

// localAPI runs a request on the api actor, for the pool's forwarder.
func (d *Daemon) localAPI(ctx context.Context, req *messages.Request) (*messages.Response, error) {
	pid := d.apiPID.Load()
	if pid == nil {
		return nil, fmt.Errorf("%w: the host's API is not up yet", errdefs.ErrUnavailable)
	}
	return client.InProcess(d.system, pid).Call(ctx, req)
}

// PoolAddr returns the address the host listens on as a pool member; ""
// when it is not in a pool.
func (d *Daemon) PoolAddr() string {
	if d.pool == nil {
		return ""
	}
	return d.pool.Addr()
}
