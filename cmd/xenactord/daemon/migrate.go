package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// credentialsDir is where the API's credentials are: cfg's, or
// <state-dir>/api.
func credentialsDir(cfg Config) string {
	if cfg.APICredentialsDir != "" {
		return cfg.APICredentialsDir
	}
	return filepath.Join(cfg.StateDir, "api")
}

// serveMigration starts the migration listener on cfg.MigrateAddr, unless
// it is "": incoming migrations are received into the host actor's VMs
// (host.MigrationDestination), by receivers of their own. A caller brings
// the API's token, or, when the host is in a pool, asks for
// apiwire.PoolServerName and presents a pool certificate (mutual TLS
// against the pool's CA, no token); the pool member publishes the
// listener's address.
func (d *Daemon) serveMigration(cfg Config) error {
	if cfg.MigrateAddr == "" {
		return nil
	}
	creds, err := apiwire.EnsureCredentials(credentialsDir(cfg))
	if err != nil {
		return fmt.Errorf("daemon: migration listener: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.MigrateAddr)
	if err != nil {
		return fmt.Errorf("daemon: migration listener on %s: %w: %w", cfg.MigrateAddr, err, errdefs.ErrUnavailable)
	}
	if cfg.MigrateInsecure {
		if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			_ = ln.Close()
			return fmt.Errorf("%w: -migrate-insecure needs a loopback -migrate-addr, not %s", ErrUsage, cfg.MigrateAddr)
		}
	} else {
		ln = tls.NewListener(ln, apiwire.MigrationServerTLS(creds, d.poolCreds))
	}
	srv := &migrate.Server{Token: creds.Token, Destination: host.MigrationDestination{Host: d.host},
		MaxReceivers: cfg.MigrateReceivers, Logger: d.log}
	if d.poolCreds != nil {
		srv.Trusted = apiwire.PoolPeer
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	d.migrateAddr = ln.Addr().String()
	if d.pool != nil {
		d.pool.SetMigrateAddr(d.migrateAddr)
	}
	d.stopMigration = func() error {
		cancel()
		return <-done
	}
	return nil
}

// MigrateAddr returns the address the migration listener is on; "" when
// none.
func (d *Daemon) MigrateAddr() string { return d.migrateAddr }
