package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/xenactor/xenactor/bench/evacbench"
)

// evacuateCmd times the evacuation of a pool host: etcd and a pool of real
// xenactord processes, N running VMs on one host, PoolEvacuate of it with
// each batch size (bench/evacbench).
func evacuateCmd(args []string) error {
	fs := flag.NewFlagSet("evacuate", flag.ExitOnError)
	hosts := fs.Int("hosts", evacbench.DefaultHosts, "xenactord processes in the pool (2 to 26); host-a is evacuated")
	vms := fs.Int("vms", evacbench.DefaultVMs, "running VMs on the evacuated host")
	memMiB := fs.Uint64("memory", evacbench.DefaultMemoryMiB, "memory of each VM in MiB")
	batches := fs.String("batches", "1,10,25", "comma-separated batch sizes, one evacuation each (the VMs are migrated back between them)")
	par := fs.Int("parallel", evacbench.DefaultParallel, "VMs created, started and migrated back at once")
	bin := fs.String("xenactord", "", "xenactord binary (default: go build it into a temporary directory)")
	etcdBin := fs.String("etcd", "etcd", "etcd binary (Debian's etcd-server)")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)

	opts := evacbench.Options{Hosts: *hosts, VMs: *vms, MemoryMiB: *memMiB, Parallel: *par, Xenactord: *bin,
		Etcd: *etcdBin}
	var err error
	if opts.Batches, err = intList(*batches); err != nil {
		return fmt.Errorf("-batches: %w", err)
	}
	if !*quiet {
		opts.Progress = progressLine
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := evacbench.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(rep); err != nil {
			return err
		}
	} else {
		evacbench.WriteTable(os.Stdout, rep)
	}
	if p := rep.Problems(); len(p) > 0 {
		return fmt.Errorf("the evacuations went wrong: %s", strings.Join(p, "; "))
	}
	return nil
}

// evacWorkerCmd is the worker process of evacuateCmd (hidden): one API
// connection, driven by the benchmark over stdin and stdout.
func evacWorkerCmd() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return evacbench.WorkerMain(ctx, os.Stdin, os.Stdout)
}
