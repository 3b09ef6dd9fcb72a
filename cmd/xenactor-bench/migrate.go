package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/bench/migbench"
)

// migrateCmd measures live migration's wire between two simulated
// hypervisors in this process, against a raw TCP copy of the same bytes.
func migrateCmd(args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	sizes := fs.String("sizes", "256,1024", "comma-separated VM memory sizes in MiB")
	rates := fs.String("rates", "0,5000,50000", "comma-separated pages per second the guests write")
	ws := fs.Int("working-set", migbench.DefaultWorkingSetPages, "the guests' writable working set in pages")
	compress := fs.Bool("compress", false, "send the memory through flate")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)
	opts := migbench.Options{WorkingSetPages: *ws, Compress: *compress}
	var err error
	if opts.SizesMiB, err = intList(*sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	if opts.Rates, err = intList(*rates); err != nil {
		return fmt.Errorf("-rates: %w", err)
	}
	if !*quiet {
		opts.Progress = progressLine
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := migbench.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(rows)
	}
	migbench.WriteTable(os.Stdout, rows)
	return nil
}
