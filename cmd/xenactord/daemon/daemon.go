package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/console"
	"github.com/xenactor/xenactor/actors/host"
	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

// ConsoleDir is where, under the run directory, the console daemon keeps
// the guests' logs (guest-<domid>.log).
const ConsoleDir = "console"

// readyTimeout bounds how long Start waits for the host actor to answer.
const readyTimeout = 30 * time.Second

// Daemon is a running xenactord.
type Daemon struct {
	log     *slog.Logger
	system  *actor.ActorSystem
	host    host.Client
	store   *statedir.Store
	closers []func() error // run in reverse order by Stop
	// Xenstored is the socket of the xenstored the daemon uses.
	xsPath  string
	console *actor.PID // the console daemon's actor; nil if none

	stopOnce sync.Once
	stopErr  error
}

// backend is the host the daemon drives.
type backend struct {
	hv   hypervisor.Hypervisor
	hp   hotplug.Hotplug
	dial func(context.Context) (*xenstore.Client, error)
}

// Start brings the daemon up: the host (embedded or remote), the state
// directory, the actor system and the host actor, which loads the
// persisted VMs and re-adopts their running domains. It returns once the
// host actor answers.
func Start(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	remote, err := cfg.remoteHypervisor()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{log: log}
	defer func() {
		if err != nil {
			_ = d.Stop()
		}
	}()
	var be backend
	if remote == "" {
		be, err = d.embedded(cfg)
	} else {
		be, err = d.remote(ctx, remote, cfg.Xenstored)
	}
	if err != nil {
		return nil, err
	}
	if d.store, err = statedir.Open(cfg.StateDir); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.store.Close)
	d.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("lib", "protoactor")
	}))
	pid, err := d.system.Root.SpawnNamed(host.Props(host.Config{StateDir: d.store, Hypervisor: be.hv,
		Dial: be.dial, Hotplug: be.hp, TuneVM: cfg.TuneVM, Logger: log}), "host")
	if err != nil {
		return nil, fmt.Errorf("daemon: spawning the host actor: %w", err)
	}
	d.host = host.NewClient(d.system, pid)
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := d.host.ListVMs(rctx); err != nil {
		return nil, fmt.Errorf("daemon: the host actor does not answer: %w", err)
	}
	d.startConsole(cfg, be)
	return d, nil
}

// startConsole starts the console daemon's actor, which logs the guests'
// consoles in <run-dir>/console, when the hypervisor gives page access to
// the guests' memory (the simulated host, embedded or remote).
func (d *Daemon) startConsole(cfg Config, be backend) {
	pages, ok := be.hv.(cons.Pages)
	if !ok {
		d.log.Info("no console daemon: the hypervisor gives no page access")
		return
	}
	d.console = d.system.Root.Spawn(console.Props(console.Config{Dial: be.dial, Pages: pages,
		LogDir: filepath.Join(cfg.RunDir, ConsoleDir), Logger: d.log}))
}

// embedded starts the simulated host in the process and serves its
// xenstored on <run-dir>/xenstored.sock.
func (d *Daemon) embedded(cfg Config) (backend, error) {
	mib := cfg.HostMemoryMiB
	if mib == 0 {
		mib = DefaultHostMemoryMiB
	}
	h, err := sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: mib << 10}, Logger: d.log})
	if err != nil {
		return backend{}, err
	}
	d.closers = append(d.closers, h.Close)
	socket := filepath.Join(cfg.RunDir, sim.XenstoredSocket)
	l, err := xenstored.Listen(socket)
	if err != nil {
		return backend{}, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.Serve(l); err != nil {
			d.log.Warn("serving xenstored", "err", err)
		}
	}()
	d.closers = append(d.closers, func() error {
		err := l.Close()
		<-done
		if rerr := os.Remove(socket); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		return err
	})
	d.xsPath = socket
	dial := func(context.Context) (*xenstore.Client, error) {
		nc, err := h.Xenstore().ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
	return backend{hv: h.Hypervisor(), hp: h.Hotplug().Device(), dial: dial}, nil
}

// remote connects to a simulated host in another process: its hypervisor
// and hotplug step over hvremote, its xenstored over its socket, where
// connections are privileged dom0.
func (d *Daemon) remote(ctx context.Context, hvPath, xsPath string) (backend, error) {
	hv, err := hvremote.Dial(ctx, hvPath)
	if err != nil {
		return backend{}, fmt.Errorf("daemon: hypervisor: %w", err)
	}
	d.closers = append(d.closers, hv.Close)
	dial := func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, xsPath) }
	// Fail now, with a clear error, rather than in the host actor.
	probe, err := dial(ctx)
	if err != nil {
		return backend{}, fmt.Errorf("daemon: xenstored: %w", err)
	}
	_ = probe.Close()
	d.xsPath = xsPath
	return backend{hv: hv, hp: hv.Hotplug(), dial: dial}, nil
}

// Host returns a client of the host actor.
func (d *Daemon) Host() host.Client { return d.host }

// System returns the daemon's actor system.
func (d *Daemon) System() *actor.ActorSystem { return d.system }

// Xenstored returns the socket of the xenstored the daemon uses.
func (d *Daemon) Xenstored() string { return d.xsPath }

// Stop stops the console daemon's actor, which frees the ptys, and the host
// actor and its children, which leave the domains running for the next
// daemon to adopt, then the actor system, and closes the state directory
// and the host connections. An embedded simulated host stops with the
// daemon and its socket is removed. Stop is idempotent.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() {
		var errs []error
		if d.system != nil {
			if d.console != nil {
				errs = append(errs, d.system.Root.StopFuture(d.console).Wait())
			}
			if pid := d.host.PID(); pid != nil {
				errs = append(errs, d.system.Root.StopFuture(pid).Wait())
			}
			d.system.Shutdown()
		}
		for i := len(d.closers) - 1; i >= 0; i-- {
			errs = append(errs, d.closers[i]())
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}
