// Command xenactord is the xenactor daemon: the host actor and its VM
// actors (package daemon), on a simulated Xen host. By default the host is
// embedded and its xenstored is served on <run-dir>/xenstored.sock for
// xenstore-utils; with -hypervisor unix:<path> and -xenstored <path> the
// daemon drives an xenactor-simhost instead, which outlives it. With
// -trace-agent or -trace-collector it exports OpenTracing spans to Jaeger.
// There is no RPC API yet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
)

func main() {
	var cfg daemon.Config
	flag.StringVar(&cfg.StateDir, "state-dir", "./run/state", "directory of the persisted VM records")
	flag.StringVar(&cfg.RunDir, "run-dir", "./run", "directory of the runtime files (xenstored.sock, hypervisor.sock)")
	flag.StringVar(&cfg.Xenstored, "xenstored", "",
		`xenstored socket; "" serves the embedded simulated host's own on <run-dir>/xenstored.sock`)
	flag.StringVar(&cfg.Hypervisor, "hypervisor", daemon.HypervisorSim,
		`"sim" (the embedded simulated host) or unix:<path> (an xenactor-simhost's hypervisor.sock)`)
	flag.StringVar(&cfg.EmuManager, "emu-manager", "",
		`the save/restore helper (xenactor-emu-manager) suspend and resume run; "" saves and restores in the daemon`)
	flag.Uint64Var(&cfg.HostMemoryMiB, "host-memory", daemon.DefaultHostMemoryMiB,
		"the embedded simulated host's memory in MiB")
	flag.StringVar(&cfg.DeviceModel, "device-model", "",
		`QEMU binary run as the device model of each HVM VM, e.g. qemu-system-x86_64; "" runs them without one`)
	flag.StringVar(&cfg.DEMU, "demu", "",
		`the vGPU emulator (xenactor-demu) started for each vGPU of a VM; "" refuses VMs with vGPUs`)
	flag.Func("sr", "a storage repository: name=<plugin dir>,<uri>; repeatable", func(s string) error {
		sr, err := daemon.ParseSR(s)
		if err == nil {
			cfg.SRs = append(cfg.SRs, sr)
		}
		return err
	})
	flag.StringVar(&cfg.Switch, "switch", daemon.SwitchSim,
		`the embedded host's switch: "sim" (in memory) or "ovs" (a private Open vSwitch in user space in <run-dir>/ovs)`)
	flag.StringVar(&cfg.Tracing.Agent, "trace-agent", "",
		`send OpenTracing spans to the Jaeger agent at host:port (UDP, e.g. 127.0.0.1:6831); "" and no -trace-collector: tracing off`)
	flag.StringVar(&cfg.Tracing.Collector, "trace-collector", "",
		"send OpenTracing spans to the Jaeger collector at this URL (e.g. http://127.0.0.1:14268/api/traces); not with -trace-agent")
	flag.Float64Var(&cfg.Tracing.SampleRate, "trace-sample", 1, "the probability that a trace is sampled, in [0, 1]")
	flag.StringVar(&cfg.MetricsAddr, "metrics-addr", daemon.DefaultMetricsAddr,
		`host:port to serve Prometheus metrics on (/metrics); "" turns them off`)
	flag.BoolVar(&cfg.MetricsPerVM, "metrics-per-vm", false, "add per-VM series (a vm label) to the metrics")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "xenactord:", err)
		if errors.Is(err, daemon.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(cfg daemon.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.Start(ctx, cfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("xenactord ready", "state_dir", cfg.StateDir, "run_dir", cfg.RunDir,
		"hypervisor", cfg.Hypervisor, "xenstored", d.Xenstored(), "metrics", d.MetricsAddr())
	<-ctx.Done()
	cfg.Logger.Info("xenactord stopping")
	return d.Stop()
}
