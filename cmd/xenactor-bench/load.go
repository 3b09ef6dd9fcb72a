package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/bench/loadbench"
)

// loadCmd runs a load scenario of bench/loadbench (storm, churn, guests,
// hotplug or scale) against a xenactord it starts, or the running one of
// -config, through worker processes that use the public client.
func loadCmd(scenario string, args []string) error {
	cfg, out, err := loadbench.ParseArgs(scenario, args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o loadbench.Options
	if !out.Quiet {
		o.Progress = os.Stderr
	}
	rep, err := loadbench.Run(ctx, cfg, o)
	if err != nil {
		return err
	}
	return writeLoadReport(rep, out)
}

// writeLoadReport prints rep (table or JSON) and writes its JSON file and
// plots as out asks.
func writeLoadReport(rep *loadbench.Report, out loadbench.Output) error {
	if err := writeReport(rep, rep.WriteTable, out); err != nil {
		return err
	}
	if rep.DaemonExit != "" && rep.DaemonExit != "clean" {
		return fmt.Errorf("xenactord did not exit cleanly: %s", rep.DaemonExit)
	}
	return nil
}

// report is a benchmark's report, written as JSON and as SVG plots.
type report interface {
	WriteJSON(io.Writer) error
	WritePlots(dir string) ([]string, error)
}

// writeReport prints rep, as JSON or with table, then writes its JSON file
// and its plots as out asks, naming the plots on stderr.
func writeReport(rep report, table func(io.Writer), out loadbench.Output) error {
	if out.JSON {
		if err := rep.WriteJSON(os.Stdout); err != nil {
			return err
		}
	} else {
		table(os.Stdout)
	}
	if out.Out != "" {
		f, err := os.Create(out.Out)
		if err != nil {
			return err
		}
		err = rep.WriteJSON(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if out.Plot != "" {
		paths, err := rep.WritePlots(out.Plot)
		if err != nil {
			return err
		}
		for _, p := range paths {
			fmt.Fprintln(os.Stderr, "plot:", p)
		}
	}
	return nil
}

// loadWorkerCmd is a worker process of loadCmd (hidden): one API
// connection, driven by the benchmark over stdin and stdout.
func loadWorkerCmd() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return loadbench.WorkerMain(ctx, os.Stdin, os.Stdout)
}
