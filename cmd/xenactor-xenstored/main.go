// Command xenactor-xenstored runs the project's xenstore daemon on a Unix
// socket: -socket, else $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket,
// else /var/run/xenstored/socket.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

func main() {
	socket := flag.String("socket", xenstore.DefaultSocketPath(), "Unix socket to listen on")
	pidFile := flag.String("pid-file", "", "write the daemon's pid here")
	verbose := flag.Bool("verbose", false, "log debug lines")
	flag.Parse()
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*socket, *pidFile, log); err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-xenstored:", err)
		os.Exit(1)
	}
}

func run(socket, pidFile string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	l, err := xenstored.Listen(socket)
	if err != nil {
		return err
	}
	defer os.Remove(socket)
	if pidFile != "" {
		if err := os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			return err
		}
		defer os.Remove(pidFile)
	}
	srv := xenstored.New(xenstored.Config{Logger: log})
	log.Info("xenstored listening", "path", socket)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		log.Info("xenstored stopping")
	case err = <-done:
	}
	srv.Close()
	return err
}
