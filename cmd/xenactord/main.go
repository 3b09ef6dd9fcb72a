// Command xenactord is the xenactor daemon: the host actor and its VM
// actors, on the simulated Xen host. Its xenstored (the simulated host's
// own) is served on <run-dir>/xenstored.sock for xenstore-utils. There is no
// RPC API yet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

// errUsage is a configuration that is not supported: exit status 2.
var errUsage = errors.New("usage")

func main() {
	stateDir := flag.String("state-dir", "./run/state", "directory of the persisted VM records")
	runDir := flag.String("run-dir", "./run", "directory of the runtime files (xenstored.sock)")
	xsPath := flag.String("xenstored", "", `xenstored socket; "" serves the simulated host's own on <run-dir>/xenstored.sock`)
	hostMiB := flag.Uint64("host-memory", 16384, "the simulated host's memory in MiB")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *stateDir, *runDir, *xsPath, *hostMiB); err != nil {
		fmt.Fprintln(os.Stderr, "xenactord:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(log *slog.Logger, stateDir, runDir, xsPath string, hostMiB uint64) error {
	if xsPath != "" {
		return fmt.Errorf("%w: -xenstored %q: an external xenstored is not supported with the simulated hypervisor yet",
			errUsage, xsPath)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	h, err := sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: hostMiB << 10}, Logger: log})
	if err != nil {
		return err
	}
	defer h.Close()
	socket := filepath.Join(runDir, "xenstored.sock")
	l, err := xenstored.Listen(socket)
	if err != nil {
		return err
	}
	defer os.Remove(socket)
	go func() { _ = h.Serve(l) }()

	store, err := statedir.Open(stateDir)
	if err != nil {
		return err
	}
	defer store.Close()

	dial := func(context.Context) (*xenstore.Client, error) {
		nc, err := h.Xenstore().ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("lib", "protoactor")
	}))
	defer system.Shutdown()
	pid, err := system.Root.SpawnNamed(host.Props(host.Config{StateDir: store, Hypervisor: h.Hypervisor(),
		Dial: dial, Hotplug: h.Hotplug().Device(), Logger: log}), "host")
	if err != nil {
		return err
	}
	log.Info("xenactord ready", "state_dir", stateDir, "run_dir", runDir, "xenstored", socket)

	<-ctx.Done()
	log.Info("xenactord stopping")
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		log.Warn("stopping the host actor", "err", err)
	}
	return nil
}
