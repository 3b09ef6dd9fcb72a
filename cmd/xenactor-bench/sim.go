package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/bench/simbench"
)

// simCmd boots guests on a fresh simulated host for each count in -guests
// and prints boot rate and latency and the cost of an idle guest.
func simCmd(args []string) error {
	fs := flag.NewFlagSet("sim", flag.ExitOnError)
	guests := fs.String("guests", "1000,10000", "comma-separated numbers of guests, one fresh host each")
	concurrency := fs.Int("concurrency", 100, "guests booting at once")
	idle := fs.Duration("idle", 3*time.Second, "how long idle CPU is measured after the boot")
	image := fs.String("image", "sim:linux", "image the guests boot (sim:<profile>)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Parse(args)
	counts, err := intList(*guests)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rs []simbench.Result
	for _, n := range counts {
		fmt.Fprintf(os.Stderr, "booting %d guests, %d at a time...\n", n, *concurrency)
		r, err := simbench.Run(ctx, simbench.Options{Guests: n, Concurrency: *concurrency, IdleWindow: *idle, Image: *image})
		if err != nil {
			return fmt.Errorf("%d guests: %w", n, err)
		}
		rs = append(rs, r)
	}
	if *asJSON {
		return printJSON(rs)
	}
	simbench.WriteTable(os.Stdout, rs)
	return nil
}
