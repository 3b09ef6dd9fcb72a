// Command xenactor is the command line client of xenactord's API: VMs,
// their devices, tasks, the update stream and the host. The commands are in
// package cli; docs/cli.md describes them and their exit codes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactor/cli"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	root := cli.New(cli.Options{Connect: connect, Stdout: os.Stdout, Stderr: os.Stderr,
		IsTerminal: isTerminal(os.Stderr)})
	err := root.ExecuteContext(ctx)
	stop()
	code := cli.ExitCode(err)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xenactor:", err)
	}
	if code == cli.ExitUsage {
		fmt.Fprintln(os.Stderr, "Run 'xenactor --help' for usage.")
	}
	os.Exit(code)
}

// connect reaches the daemon with the client configuration found from
// config (--config; "" searches $XENACTOR_CONFIG and the default places).
// A configuration that cannot be found is ErrUnavailable (exit code 6): the
// daemon cannot be reached without it.
func connect(ctx context.Context, config string) (*client.Client, error) {
	cfg, err := client.FindConfig(config)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %v", errdefs.ErrUnavailable, err)
	} else if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to xenactord at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
