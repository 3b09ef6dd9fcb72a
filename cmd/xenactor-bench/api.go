package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/xenactor/xenactor/bench/apibench"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
)

// apiCmd measures the API: stat round trips and VM operations with each
// number of concurrent clients, through a real xenactord and its network
// API (one worker process per client) and through the same daemon in this
// process (client.InProcess, one goroutine per client).
func apiCmd(args []string) error {
	fs := flag.NewFlagSet("api", flag.ExitOnError)
	clients := fs.String("clients", "1,50", "comma-separated numbers of concurrent clients")
	perConn := fs.String("per-conn", "1", "comma-separated numbers of goroutines each client runs over its one connection")
	duration := fs.Duration("duration", apibench.DefaultDuration, "length of the stat round trips at each client count")
	vms := fs.Int("vms", apibench.DefaultVMs, "VMs created, started, shut down and removed at each client count, shared by the clients")
	memMiB := fs.Uint64("memory", apibench.DefaultMemoryKiB>>10, "memory of each VM in MiB")
	count := fs.Int("count", 1, "runs of both paths, alternating their order; each row is the run with the median ops/s")
	bin := fs.String("xenactord", "", "xenactord binary (default: go build it into a temporary directory)")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)

	opts := apibench.Options{Count: *count, Duration: *duration, VMs: *vms, MemoryKiB: *memMiB << 10, Xenactord: *bin,
		InProcess: startInProcessAPI}
	var err error
	if opts.Clients, err = intList(*clients); err != nil {
		return fmt.Errorf("-clients: %w", err)
	}
	if opts.PerConn, err = intList(*perConn); err != nil {
		return fmt.Errorf("-per-conn: %w", err)
	}
	if !*quiet {
		opts.Progress = progressLine
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := apibench.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(rep); err != nil {
			return err
		}
	} else {
		apibench.WriteTable(os.Stdout, rep)
	}
	if rep.DaemonExit != "clean" {
		return fmt.Errorf("xenactord did not exit cleanly: %s", rep.DaemonExit)
	}
	return nil
}

// apiWorkerCmd is a worker process of apiCmd (hidden): one API connection,
// driven by the benchmark over stdin and stdout.
func apiWorkerCmd() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return apibench.WorkerMain(ctx, os.Stdin, os.Stdout)
}

// startInProcessAPI is the in-process path's daemon: xenactord's daemon
// without an API address, on its embedded simulated host, in this process.
func startInProcessAPI(ctx context.Context, dir string, hostMiB uint64) (*client.Client, func() error, error) {
	d, err := daemon.Start(ctx, daemon.Config{StateDir: filepath.Join(dir, "state"), RunDir: dir,
		HostMemoryMiB: hostMiB})
	if err != nil {
		return nil, nil, err
	}
	return client.New(client.InProcess(d.System(), d.API())), d.Stop, nil
}
