package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/bench/bootstorm"
)

// bootCmd runs the boot storm through the host and VM actors on a simulated
// host, in this process, then the start-latency curve against the number of
// running VMs.
func bootCmd(args []string) error {
	fs := flag.NewFlagSet("boot", flag.ExitOnError)
	vms := fs.Int("vms", bootstorm.DefaultVMs, "VMs started in the storm (0: no storm)")
	concurrency := fs.Int("concurrency", bootstorm.DefaultConcurrency, "VMs starting at once in the storm and when filling a level")
	levels := fs.String("levels", "10,100,1000,2000,5000", `comma-separated numbers of running VMs for the curve ("": no curve)`)
	probe := fs.Int("probe", bootstorm.DefaultProbe, "VMs of the probe batch started at each level")
	probeConc := fs.Int("probe-concurrency", bootstorm.DefaultProbeConcurrency, "probe VMs starting at once")
	rounds := fs.Int("rounds", bootstorm.DefaultRounds, "measured probe rounds per level, after one warm-up round")
	memMiB := fs.Uint64("memory", bootstorm.DefaultMemoryKiB>>10, "memory of each VM in MiB")
	image := fs.String("image", bootstorm.DefaultImage, "image the VMs boot (sim:<profile>)")
	asJSON := fs.Bool("json", false, "print JSON instead of the tables")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)

	opts := bootstorm.Options{Daemon: newInprocDaemon, VMs: *vms, Concurrency: *concurrency, Probe: *probe, ProbeConcurrency: *probeConc,
		Rounds: *rounds, MemoryKiB: *memMiB << 10, Image: *image}
	if opts.VMs == 0 {
		opts.VMs = -1
	}
	if *levels != "" {
		var err error
		if opts.Levels, err = intList(*levels); err != nil {
			return fmt.Errorf("-levels: %w", err)
		}
	}
	if !*quiet {
		opts.Progress = progressLine
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bootstorm.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(r)
	}
	bootstorm.WriteTable(os.Stdout, r)
	return nil
}
