package main

import (
	"context"
	"fmt"
	"io"
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
	table := func(w io.Writer) { evacbench.WriteStormTable(w, rep) }
	if err := writeReport(rep, table, out); err != nil {
		return err
	}
	if p := rep.Problems(); len(p) > 0 {
		return fmt.Errorf("the migration storm went wrong: %s", strings.Join(p, "; "))
	}
	return nil
}
