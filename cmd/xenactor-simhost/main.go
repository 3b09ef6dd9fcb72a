// Command xenactor-simhost runs a simulated Xen host (hostio/sim) on its
// own, so that it outlives the daemons that drive it, as a real host's
// hypervisor and xenstored outlive the toolstack. In its run directory it
// serves the host's xenstored on xenstored.sock and its hypervisor and
// hotplug step (hostio/hypervisor/hvremote) on hypervisor.sock. It logs
// "simhost ready" once both listen; SIGINT or SIGTERM stop it and remove
// the sockets. Point xenactord at it with
// -hypervisor unix:<run-dir>/hypervisor.sock -xenstored <run-dir>/xenstored.sock.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
)

func main() {
	runDir := flag.String("run-dir", "./run/simhost", "directory of the sockets (xenstored.sock, hypervisor.sock)")
	hostMiB := flag.Uint64("host-memory", 16384, "the simulated host's memory in MiB")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *runDir, *hostMiB); err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-simhost:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, runDir string, hostMiB uint64) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	h, err := sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: hostMiB << 10}, Logger: log})
	if err != nil {
		return err
	}
	defer h.Close()
	s, err := h.ServeSockets(runDir, log)
	if err != nil {
		return err
	}
	log.Info("simhost ready", "run_dir", runDir, "xenstored", s.Xenstored, "hypervisor", s.Hypervisor,
		"host_memory_mib", hostMiB)
	<-ctx.Done()
	log.Info("simhost stopping")
	return s.Close()
}
