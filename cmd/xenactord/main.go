// Command xenactord is the xenactor daemon: the host actor and its VM
// actors (package daemon). In the control domain of a Xen host, built with
// -tags xen (make build-xen), it drives the real host: its xenstored,
// hypervisor, hotplug and a supervised xenconsoled (-hypervisor xen, the
// default there). Elsewhere the host is simulated: embedded, with its
// xenstored served on <run-dir>/xenstored.sock for xenstore-utils; or,
// with -hypervisor unix:<path> and -xenstored <path>, an xenactor-simhost,
// which outlives the daemon. It prints which hypervisor it drives and why. With
// -trace-agent or -trace-collector it exports OpenTracing spans to Jaeger.
//
// The RPC API is served on -api-addr (127.0.0.1:7651) with TLS and a token:
// the credentials are generated on first start in <state-dir>/api, with
// the client.json that the xenactor CLI and the Go client find them by.
// With -api-stunnel, stunnel terminates the API's TLS instead, under a
// daemon actor. Metrics are served on -metrics-addr. With -pool-addr, -etcd
// and -pool-credentials the host joins a pool of hosts (docs/pool.md).
// -console log serves the guests' consoles as logs only, without a pty per
// domain (docs/console.md); -pprof-addr serves Go's profiles on loopback.
// At start the daemon raises its open files limit to the hard limit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/pprofserve"
	"github.com/xenactor/xenactor/internal/rlimit"
)

func main() {
	var cfg daemon.Config
	flag.StringVar(&cfg.StateDir, "state-dir", "./run/state", "directory of the persisted VM records")
	flag.StringVar(&cfg.RunDir, "run-dir", "./run", "directory of the runtime files (xenstored.sock, hypervisor.sock)")
	flag.StringVar(&cfg.Xenstored, "xenstored", "",
		`xenstored socket; "" serves the embedded simulated host's own on <run-dir>/xenstored.sock, `+
			`or with -hypervisor xen is `+daemon.DefaultXenstored)
	flag.StringVar(&cfg.Hypervisor, "hypervisor", daemon.HypervisorAuto,
		`"xen" (the Xen host this runs in the control domain of), "sim" (the embedded simulated host), `+
			`unix:<path> (an xenactor-simhost's hypervisor.sock), or "" (xen in a Xen control domain with a `+
			`build that has it, else sim)`)
	flag.StringVar(&cfg.Xenconsoled, "xenconsoled", "",
		`with -hypervisor xen, the xenconsoled run for the guests' consoles; "" looks it up in PATH and Xen's directories`)
	flag.StringVar(&cfg.EmuManager, "emu-manager", "",
		`the save/restore helper (xenactor-emu-manager) suspend and resume run; "" saves and restores in the daemon`)
	flag.StringVar(&cfg.Xenguest, "xenguest", "",
		`the domain builder (xenactor-xenguest) the build step of each start runs; "" builds in the daemon`)
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
	flag.StringVar(&cfg.APIAddr, "api-addr", daemon.DefaultAPIAddr,
		`host:port of the RPC API (TLS, token or client certificate); "" serves none`)
	flag.StringVar(&cfg.APICredentialsDir, "api-credentials", "",
		`directory of the API's CA, certificates, token and client.json, generated when missing; "" is <state-dir>/api`)
	flag.BoolVar(&cfg.APIInsecure, "api-insecure", false, "serve the API in plaintext (loopback addresses only; the token is still required)")
	flag.StringVar(&cfg.APIStunnel, "api-stunnel", "",
		`host:port where a supervised stunnel terminates TLS for the API and forwards to -api-addr (then loopback, plaintext); "" serves TLS in the daemon`)
	flag.StringVar(&cfg.Stunnel, "stunnel", "", `the stunnel executable for -api-stunnel; "" is stunnel4 in PATH`)
	flag.StringVar(&cfg.HostName, "host-name", "", `the host's name, unique in its pool; "" is the system's host name`)
	flag.StringVar(&cfg.PoolAddr, "pool-addr", "",
		`host:port to listen on as a member of a pool of hosts (mutual TLS); "" keeps the host out of a pool`)
	flag.StringVar(&cfg.PoolName, "pool-name", daemon.DefaultPoolName, "the pool's name (its keys in etcd)")
	flag.Func("etcd", "the etcd client URLs of the pool, comma-separated (e.g. http://127.0.0.1:2379)", func(s string) error {
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.Etcd = append(cfg.Etcd, u)
			}
		}
		return nil
	})
	flag.StringVar(&cfg.PoolCredentialsDir, "pool-credentials", "",
		"directory of the pool's CA and its hosts' certificates, shared by the hosts; created by the first host")
	flag.DurationVar(&cfg.PoolTTL, "pool-ttl", 0, `the lease of the host's pool membership: a host silent that long is down; 0 is 3s`)
	poolInit := flag.Bool("pool-init", false,
		"create the pool's CA (if missing) and the certificate of -host-name in -pool-credentials, then exit")
	flag.StringVar(&cfg.MigrateAddr, "migrate-addr", daemon.DefaultMigrateAddr,
		`host:port of the migration listener (TLS with the API's credentials and token); "" takes no migrations`)
	flag.BoolVar(&cfg.MigrateInsecure, "migrate-insecure", false,
		"take migrations in plaintext (loopback addresses only; the token is still required)")
	flag.IntVar(&cfg.MigrateReceivers, "migrate-receivers", 0,
		"how many incoming migrations are received at once; 0 is the default (4)")
	flag.StringVar(&cfg.Console, "console", daemon.ConsolePTY,
		`how the guests' consoles are served: "pty" (a log and a pty each) or "log" (the log only: no pty per domain)`)
	pprofAddr := flag.String("pprof-addr", "",
		`serve Go's profiles (/debug/pprof/) on this loopback host:port (port 0 picks one); "" serves none`)
	flag.Parse()
	if *poolInit {
		if err := initPool(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "xenactord:", err)
			os.Exit(2)
		}
		return
	}
	api.Version = version()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg, *pprofAddr); err != nil {
		fmt.Fprintln(os.Stderr, "xenactord:", err)
		if errors.Is(err, daemon.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(cfg daemon.Config, pprofAddr string) error {
	if choice, err := cfg.ChooseHypervisor(); err == nil {
		fmt.Println("hypervisor: " + choice.String())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// A host of thousands of VMs holds files and sockets per VM.
	if n, err := rlimit.RaiseNoFile(); err != nil {
		cfg.Logger.Warn("open files limit not raised", "soft", n.Soft, "hard", n.Hard, "err", err)
	} else {
		cfg.Logger.Info("open files limit", "soft", n.Soft, "hard", n.Hard, "was", n.Before)
	}
	var profiles string
	if pprofAddr != "" {
		ps, err := pprofserve.Serve(pprofAddr)
		if err != nil {
			return fmt.Errorf("%w: -pprof-addr: %w", daemon.ErrUsage, err)
		}
		defer ps.Close()
		profiles = ps.Addr()
	}
	d, err := daemon.Start(ctx, cfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("xenactord ready", "state_dir", cfg.StateDir, "run_dir", cfg.RunDir,
		"hypervisor", d.Hypervisor().Kind, "xenstored", d.Xenstored(), "metrics", d.MetricsAddr(), "api", d.APIAddr(),
		"migrate", d.MigrateAddr(), "pool", d.PoolAddr(), "pprof", profiles, "console", cfg.Console,
		"version", api.Version)
	<-ctx.Done()
	cfg.Logger.Info("xenactord stopping")
	return d.Stop()
}

// initPool creates the pool credentials of cfg's host (-pool-init) and says
// where they are.
func initPool(cfg daemon.Config) error {
	if cfg.PoolCredentialsDir == "" {
		return fmt.Errorf("-pool-init needs -pool-credentials")
	}
	host, err := daemon.PoolCredentials(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("pool credentials of host %s in %s\n", host, cfg.PoolCredentialsDir)
	return nil
}

// version names the build: the module's version, or the VCS revision it was
// built from (with "+dirty" for uncommitted changes), or "dev".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "dev"
	}
	return rev + dirty
}
