package daemons

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/stunnel"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of a StunnelConfig.
const (
	DefaultStunnelProgram = "stunnel4"
	DefaultStunnelName    = "stunnel"
)

// StunnelConfig is stunnel terminating TLS in front of a local port.
type StunnelConfig struct {
	Program string // the executable; "" is DefaultStunnelProgram
	Name    string // the daemon's name (pid file, log, config file); "" is DefaultStunnelName
	// TLS is the service. With no Cert and Key, a self-signed pair in the
	// Manager's run directory is used (made once, then kept).
	TLS stunnel.Config
}

// Stunnel writes stunnel's configuration, <run>/<name>.conf, into the
// Manager's run directory, with a self-signed certificate if none is
// configured, and returns the Config of its daemon actor. Its Ready and
// Health probes connect to the accept address; the caller may set the
// other fields (Backoff, Notify, ...) before spawning the actor.
func Stunnel(m *process.Manager, sc StunnelConfig) (Config, error) {
	if sc.Program == "" {
		sc.Program = DefaultStunnelProgram
	}
	if sc.Name == "" {
		sc.Name = DefaultStunnelName
	}
	tlsCfg := sc.TLS
	if tlsCfg.Cert == "" && tlsCfg.Key == "" {
		cert, key, err := stunnel.SelfSigned(m.RunDir())
		if err != nil {
			return Config{}, err
		}
		tlsCfg.Cert, tlsCfg.Key = cert, key
	}
	conf, err := filepath.Abs(filepath.Join(m.RunDir(), sc.Name+".conf"))
	if err != nil {
		return Config{}, fmt.Errorf("stunnel: %w", err)
	}
	if err := tlsCfg.Write(conf); err != nil {
		return Config{}, err
	}
	probe := func(ctx context.Context) error { return dialProbe(ctx, tlsCfg.Accept) }
	return Config{
		Manager: m,
		Spec:    process.Spec{Name: sc.Name, Path: sc.Program, Args: []string{conf}},
		Ready:   probe,
		Health:  probe,
	}, nil
}

// dialProbe succeeds when a TCP connection to addr is accepted.
func dialProbe(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %v: %w", addr, err, errdefs.ErrUnavailable)
	}
	return c.Close()
}
