// Command xenactor-guest-agent is the guest agent for Linux guests: it
// reports the guest's OS, kernel, memory and the addresses of each VIF into
// the guest's xenstore home, as XenServer's xe-daemon does, through the
// kernel's xenbus device. It is a static program with no dependencies
// (CGO_ENABLED=0 go build ./cmd/xenactor-guest-agent); see
// docs/guest-agent.md and package hostio/guestagent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/guestagent"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// version is the agent's version, reported as its PV drivers' and agent
// version.
var version = guestagent.Version{Major: 1, Minor: 0, Micro: 0, Build: 0}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line's.
type options struct {
	xenbus   string
	interval time.Duration
	once     bool
	verbose  bool
}

// Main runs the agent with the command line argv until ctx ends (SIGTERM)
// and returns the exit code: 0 after ctx ended (or a -once round that
// succeeded), 1 if a -once round failed, 2 for a bad command line.
func Main(ctx context.Context, argv []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("xenactor-guest-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.xenbus, "xenbus", xenstore.DefaultXenbusDevice,
		"the xenbus device, or a xenstored Unix socket (tests)")
	fs.DurationVar(&o.interval, "interval", guestagent.DefaultInterval, "how often to report")
	fs.BoolVar(&o.once, "once", false, "report once and exit")
	fs.BoolVar(&o.verbose, "v", false, "log every report")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.interval <= 0 {
		fmt.Fprintln(stderr, "xenactor-guest-agent: unexpected arguments, or an -interval that is not positive")
		return 2
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := guestagent.Config{
		Dial:     dialer(o.xenbus),
		Source:   guestagent.Linux{AgentVersion: version},
		Interval: o.interval,
		Once:     o.once,
		Log:      log,
	}
	log.Info("xenactor-guest-agent: reporting", "xenbus", o.xenbus, "interval", o.interval, "once", o.once)
	if err := run(ctx, cfg, log); err != nil {
		log.Error("xenactor-guest-agent: report failed", "err", err)
		return 1
	}
	log.Info("xenactor-guest-agent: exiting")
	return 0
}

// run is the agent's loop (guestagent.Run), logging the first report that
// went through.
func run(ctx context.Context, cfg guestagent.Config, log *slog.Logger) error {
	reported := false
	next := cfg.OnRound
	cfg.OnRound = func(res guestagent.Result, err error) {
		if err == nil && !reported {
			reported = true
			log.Info("xenactor-guest-agent: first report written", "keys", len(res.Written))
		}
		if next != nil {
			next(res, err)
		}
	}
	return guestagent.Run(ctx, cfg)
}

// xenfsXenbus is the xenbus device of kernels without devtmpfs's
// /dev/xen/xenbus, with xenfs mounted on /proc/xen.
const xenfsXenbus = "/proc/xen/xenbus"

// dialer opens path: a xenstored Unix socket if it is one, else the xenbus
// device; the default device falls back to xenfs's.
func dialer(path string) func(ctx context.Context) (*xenstore.Client, error) {
	return func(ctx context.Context) (*xenstore.Client, error) {
		fi, err := os.Stat(path)
		switch {
		case err == nil && fi.Mode()&os.ModeSocket != 0:
			return xenstore.Dial(ctx, path)
		case errors.Is(err, fs.ErrNotExist) && path == xenstore.DefaultXenbusDevice:
			if _, err := os.Stat(xenfsXenbus); err == nil {
				return xenstore.OpenXenbus(xenfsXenbus)
			}
		}
		return xenstore.OpenXenbus(path)
	}
}
