package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/xenactor/xenactor/bench/evacbench"
)

// migstormCmd runs the migration storm (bench/evacbench): etcd and a pool
// of real xenactord processes, VMs spread over them, migrated back and
// forth by host name for a duration from a worker process.
func migstormCmd(args []string) error {
	cfg, out, err := evacbench.ParseStormArgs(args)
	if err != nil {
		return err
	}
	var o evacbench.StormOptions
	if !out.Quiet {
		o.Progress = progressLine
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := evacbench.RunStorm(ctx, cfg, o)
	if err != nil {
		return err
	}
	if out.JSON {
		if err := rep.WriteJSON(os.Stdout); err != nil {
			return err
		}
	} else {
		evacbench.WriteStormTable(os.Stdout, rep)
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
	if p := rep.Problems(); len(p) > 0 {
		return fmt.Errorf("the migration storm went wrong: %s", strings.Join(p, "; "))
	}
	return nil
}
