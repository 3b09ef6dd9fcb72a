// Command xenactor-simhost runs a simulated Xen host (hostio/sim) on its
// own, so that it outlives the daemons that drive it, as a real host's
// hypervisor and xenstored outlive the toolstack. In its run directory it
// serves the host's xenstored on xenstored.sock and its hypervisor and
// hotplug step (hostio/hypervisor/hvremote) on hypervisor.sock. It logs
// "simhost ready" once both listen; SIGINT or SIGTERM stop it and remove
// the sockets. Point xenactord at it with
// -hypervisor unix:<run-dir>/hypervisor.sock -xenstored <run-dir>/xenstored.sock.
// With -switch ovs its VIFs go on a private Open vSwitch in user space in
// <run-dir>/ovs, whose daemons it supervises. -pprof-addr serves Go's
// profiles on loopback. At start it raises its open files limit to the
// hard limit.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/internal/pprofserve"
	"github.com/xenactor/xenactor/internal/rlimit"
)

func main() {
	runDir := flag.String("run-dir", "./run/simhost", "directory of the sockets (xenstored.sock, hypervisor.sock)")
	hostMiB := flag.Uint64("host-memory", 16384, "the simulated host's memory in MiB")
	swName := flag.String("switch", "sim",
		`the host's switch: "sim" (in memory) or "ovs" (a private Open vSwitch in user space in <run-dir>/ovs)`)
	pprofAddr := flag.String("pprof-addr", "",
		`serve Go's profiles (/debug/pprof/) on this loopback host:port (port 0 picks one); "" serves none`)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *swName != "sim" && *swName != "ovs" {
		fmt.Fprintf(os.Stderr, "xenactor-simhost: -switch %q: want sim or ovs\n", *swName)
		os.Exit(2)
	}
	// Each guest's kernel has its own xenstored connection in the process.
	if n, err := rlimit.RaiseNoFile(); err != nil {
		log.Warn("open files limit not raised", "soft", n.Soft, "hard", n.Hard, "err", err)
	} else {
		log.Info("open files limit", "soft", n.Soft, "hard", n.Hard, "was", n.Before)
	}
	var profiles string
	if *pprofAddr != "" {
		ps, err := pprofserve.Serve(*pprofAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "xenactor-simhost: -pprof-addr:", err)
			os.Exit(2)
		}
		defer ps.Close()
		profiles = ps.Addr()
	}
	if err := run(log, *runDir, *hostMiB, *swName == "ovs", profiles); err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-simhost:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, runDir string, hostMiB uint64, privateOVS bool, profiles string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var sw ovs.Switch
	if privateOVS {
		// The host's Open vSwitch, its daemons supervised by actors: they
		// are restarted when they die, and stopped with the host.
		system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return log.With("lib", "protoactor")
		}))
		defer system.Shutdown()
		dir, err := filepath.Abs(filepath.Join(runDir, "ovs"))
		if err != nil {
			return err
		}
		s, clients, err := daemons.StartOVS(ctx, system, dir, func(st daemons.Status) {
			log.Info("daemon", "name", st.Name, "state", st.State, "pid", st.Pid, "restarts", st.Restarts,
				"err", st.LastErr)
		})
		if err != nil {
			return err
		}
		defer func() {
			for i := len(clients) - 1; i >= 0; i-- {
				sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_ = clients[i].Stop(sctx)
				cancel()
			}
		}()
		sw = s
	}
	h, err := sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: hostMiB << 10}, Logger: log, Switch: sw})
	if err != nil {
		return err
	}
	defer h.Close()
	s, err := h.ServeSockets(runDir, log)
	if err != nil {
		return err
	}
	log.Info("simhost ready", "run_dir", runDir, "xenstored", s.Xenstored, "hypervisor", s.Hypervisor,
		"host_memory_mib", hostMiB, "pprof", profiles)
	<-ctx.Done()
	log.Info("simhost stopping")
	return s.Close()
}
