// Command xenactor-bench runs load benchmarks. `xenactor-bench xenstore`
// measures the project's xenstored against Debian's C xenstored with the
// same client code; `xenactor-bench sim` boots guests on the simulated host
// and measures what they cost; `xenactor-bench boot` runs a boot storm
// through the host and VM actors on the simulated host; `xenactor-bench api`
// measures the RPC API of a real xenactord against the same daemon in
// process; `xenactor-bench migrate` measures live migration's throughput
// against a raw TCP copy and its downtime; `xenactor-bench evacuate` times
// the evacuation of a host of a pool of real xenactord on etcd, and
// `xenactor-bench migstorm` migrates VMs back and forth between the hosts of
// such a pool for a duration; `xenactor-bench
// storm|churn|guests|hotplug|scale` drive a real xenactord through the
// public client under load (bench/loadbench). Each prints a table (or
// JSON); `xenactor-bench chaos` runs a storm against a xenactord with
// faults injected at random and checks the invariants after each run (see
// docs/chaos.md). See docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/bench/xsbench"
)

const usage = "usage: xenactor-bench xenstore|sim|boot|api|migrate|evacuate|migstorm|storm|churn|guests|hotplug|scale|chaos [flags]   (xenactor-bench <scenario> -h lists the flags)"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "xenstore":
		err = xenstoreCmd(os.Args[2:])
	case "sim":
		err = simCmd(os.Args[2:])
	case "boot":
		err = bootCmd(os.Args[2:])
	case "api":
		err = apiCmd(os.Args[2:])
	case "migrate":
		err = migrateCmd(os.Args[2:])
	case "evacuate":
		err = evacuateCmd(os.Args[2:])
	case "migstorm":
		err = migstormCmd(os.Args[2:])
	case "evac-worker": // the worker process of evacuate and migstorm, not for people
		err = evacWorkerCmd()
	case "api-worker": // a worker process of api, not for people
		err = apiWorkerCmd()
	case "storm", "churn", "guests", "hotplug", "scale":
		err = loadCmd(os.Args[1], os.Args[2:])
	case "load-worker": // a worker process of the load scenarios, not for people
		err = loadWorkerCmd()
	case "chaos":
		err = chaosCmd(os.Args[2:])
	case "chaos-daemon": // the daemon process of chaos, not for people
		err = chaosDaemonCmd()
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-bench:", err)
		os.Exit(1)
	}
}

func xenstoreCmd(args []string) error {
	fs := flag.NewFlagSet("xenstore", flag.ExitOnError)
	duration := fs.Duration("duration", 2*time.Second, "length of each measurement of each daemon")
	count := fs.Int("count", 1, "runs per measurement and daemon; the median is reported")
	conns := fs.String("conns", "1,8", "connection counts for pairs (txn uses the largest)")
	perConn := fs.String("per-conn", "1,16", "goroutines sharing each connection in pairs")
	watches := fs.String("watches", "0,10000,100000", "unrelated watch counts for watch")
	watchConns := fs.Int("watch-conns", 100, "connections holding the unrelated watches")
	setupTimeout := fs.Duration("setup-timeout", 2*time.Minute, "bound on registering the unrelated watches")
	scenarios := fs.String("scenarios", strings.Join(xsbench.Scenarios, ","), "scenarios to run")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	ours := fs.String("ours", "", "socket of a running xenactor-xenstored (default: start one)")
	oursBin := fs.String("ours-bin", "", "xenactor-xenstored binary to start (default: go build bin/xenactor-xenstored)")
	inproc := fs.Bool("ours-inproc", false, "run our daemon inside this process instead of as a separate one")
	cSock := fs.String("c-xenstored", "", "socket of a running C xenstored (default: start one if installed)")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)

	opts := xsbench.Options{Duration: *duration, WatchConns: *watchConns, SetupTimeout: *setupTimeout,
		Scenarios: splitList(*scenarios)}
	var err error
	if opts.Conns, err = intList(*conns); err != nil {
		return fmt.Errorf("-conns: %w", err)
	}
	if opts.PerConn, err = intList(*perConn); err != nil {
		return fmt.Errorf("-per-conn: %w", err)
	}
	if opts.Watches, err = intList(*watches); err != nil {
		return fmt.Errorf("-watches: %w", err)
	}
	plan, err := xsbench.Plan(opts)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	suite := &xsbench.Suite{Count: *count}
	if !*quiet {
		suite.Progress = os.Stderr
	}
	switch {
	case *ours != "":
		suite.Ours = xsbench.Attach("ours", "xenactor-xenstored", *ours)
	case *inproc:
		suite.Ours, err = xsbench.InProcess()
	default:
		bin := *oursBin
		if bin == "" {
			if bin, err = xsbench.BuildDaemon(ctx); err != nil {
				return fmt.Errorf("%w (or pass -ours-bin, -ours or -ours-inproc)", err)
			}
		}
		suite.Ours, err = xsbench.StartProcess(ctx, bin)
	}
	if err != nil {
		return err
	}
	defer suite.Ours.Close()
	if *cSock != "" {
		suite.C = xsbench.Attach("c", "C xenstored", *cSock)
	} else if suite.C, err = xsbench.StartC(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-bench: C xenstored baseline missing, measuring ours only:", err)
		suite.Notes = append(suite.Notes, "C xenstored baseline missing: "+err.Error())
		suite.C = nil
	} else {
		defer suite.C.Close()
	}

	rep, err := suite.Run(ctx, plan)
	if err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(os.Stdout)
	}
	return rep.WriteText(os.Stdout)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	out := []int{}
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, errors.New("not a list of counts: " + s)
		}
		out = append(out, n)
	}
	return out, nil
}

// progressLine prints a progress line of a scenario on stderr.
func progressLine(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// printJSON prints a scenario's report on stdout as indented JSON.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
