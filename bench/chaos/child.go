package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// ChildConfig is what Run hands the child process on the first line of its
// standard input.
type ChildConfig struct {
	// StateDir and RunDir are the daemon's; the same StateDir serves every
	// incarnation.
	StateDir, RunDir string
	// Xenstored and Hypervisor are the simulated host's sockets (the
	// xenstored one through Run's proxy, which drops connections).
	Xenstored, Hypervisor string
	// Faults are the kinds enabled; the child arms those of the daemon's
	// process.
	Faults []string
	// VMs is the size of the pool of VMs the storm works on; Workers the
	// operations in flight at once.
	VMs, Workers int
	// FaultInterval is the mean time between two faults.
	FaultInterval time.Duration
	// OpTimeout bounds each operation, its task included.
	OpTimeout time.Duration
	// Incarnation counts the daemons started on StateDir, from 0.
	Incarnation int
	// APIStunnel, when set, is the 127.0.0.1 address where the daemon
	// runs stunnel in front of its API (a host daemon for
	// FaultDaemonKill); the same for every incarnation, which adopts the
	// stunnel the one before left.
	APIStunnel string `json:",omitempty"`
}

// Injector arms faults in the daemon's process.
type Injector interface {
	// Inject arms one fault of kind, on uuid's VM for FaultPanicVM. It
	// returns an error wrapping errdefs.ErrNotImplemented when the kind
	// cannot be injected in this daemon.
	Inject(ctx context.Context, kind, uuid string) error
	// Hit returns how many armed faults of each kind went off.
	Hit() map[string]int
	// Lift disarms the faults not gone off and ends those in effect, at
	// the end of a storm: the settle and the clean-up run without faults.
	Lift()
}

// ChildDaemon is the daemon a child process started.
type ChildDaemon struct {
	// Client reaches the daemon's API in process.
	Client   *client.Client
	Injector Injector
	// MetricsAddr is where the daemon serves /metrics.
	MetricsAddr string
	// Stop stops the daemon.
	Stop func() error
}

// StartChild starts the daemon of cfg in the calling process.
type StartChild func(ctx context.Context, cfg ChildConfig) (*ChildDaemon, error)

// The commands of the child protocol.
const (
	cmdStorm  = "storm"
	cmdSettle = "settle"
	cmdView   = "view"
	cmdClean  = "clean"
	cmdExit   = "exit"
)

// command is one line Run writes to the child.
type command struct {
	Cmd      string
	Run      int           `json:",omitempty"`
	Seed     int64         `json:",omitempty"`
	Duration time.Duration `json:",omitempty"`
}

// reply is one line the child writes back: the first says it is ready,
// then one per command.
type reply struct {
	Ready       bool         `json:",omitempty"`
	MetricsAddr string       `json:",omitempty"`
	Storm       *StormResult `json:",omitempty"`
	// Partial is the storm's result so far, sent every partialEvery
	// while it runs: what Run keeps of a storm whose daemon it kills.
	Partial *StormResult `json:",omitempty"`
	View    *View        `json:",omitempty"`
	Clean   *CleanResult `json:",omitempty"`
	Err     string       `json:",omitempty"`
}

// GoroutineDumpEnv names the environment variable that, set to a
// directory, makes the child write its goroutines there after each
// clean-up (goroutines-<incarnation>-<n>.txt, pprof's debug=1 form), then
// its open files: two dumps of one daemon tell what a growth is made of.
const GoroutineDumpEnv = "XENACTOR_CHAOS_GOROUTINES"

// dumps counts the goroutine dumps of the child.
var dumps int

// dumpGoroutines writes the goroutine dump GoroutineDumpEnv asks for.
func dumpGoroutines(incarnation int) {
	dir := os.Getenv(GoroutineDumpEnv)
	if dir == "" {
		return
	}
	dumps++
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("goroutines-%d-%d.txt", incarnation, dumps)))
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("goroutine").WriteTo(f, 1)
	fds, _ := os.ReadDir("/proc/self/fd")
	fmt.Fprintf(f, "\nopen files: %d\n", len(fds))
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		fmt.Fprintf(f, "fd %s %s\n", fd.Name(), target)
	}
}

// partialEvery is how often a storm reports its result so far.
const partialEvery = 500 * time.Millisecond

// settleTimeout bounds the wait for every task to finish after a storm.
const settleTimeout = 60 * time.Second

// ChildMain is the child process: it reads its ChildConfig from in, starts
// the daemon with start, says it is ready on out, then runs the commands it
// reads until in ends or says exit, and stops the daemon.
func ChildMain(ctx context.Context, start StartChild, in io.Reader, out io.Writer) error {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 16<<20)
	if !lines.Scan() {
		return fmt.Errorf("chaos: no child config on stdin: %w", errdefs.ErrInvalid)
	}
	var cfg ChildConfig
	if err := json.Unmarshal(lines.Bytes(), &cfg); err != nil {
		return fmt.Errorf("chaos: child config: %v: %w", err, errdefs.ErrInvalid)
	}
	d, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Stop()
	var mu sync.Mutex // the storm's partial results are written meanwhile
	enc := json.NewEncoder(out)
	encode := func(r reply) error {
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(r)
	}
	if err := encode(reply{Ready: true, MetricsAddr: d.MetricsAddr}); err != nil {
		return err
	}
	for lines.Scan() {
		var c command
		if err := json.Unmarshal(lines.Bytes(), &c); err != nil {
			return fmt.Errorf("chaos: command %q: %v: %w", lines.Text(), err, errdefs.ErrInvalid)
		}
		var r reply
		switch c.Cmd {
		case cmdStorm:
			res := runStorm(ctx, d.Client, d.Injector, cfg, c, func(p StormResult) { _ = encode(reply{Partial: &p}) })
			r.Storm = &res
		case cmdSettle:
			v, err := settle(ctx, d.Client, settleTimeout)
			r.View = v
			if err != nil {
				r.Err = err.Error()
			}
		case cmdView:
			v, err := view(ctx, d.Client)
			r.View = v
			if err != nil {
				r.Err = err.Error()
			}
		case cmdClean:
			res := clean(ctx, d.Client, cfg.OpTimeout)
			r.Clean = &res
			dumpGoroutines(cfg.Incarnation)
		case cmdExit:
			return nil
		default:
			r.Err = fmt.Sprintf("unknown command %q", c.Cmd)
		}
		if err := encode(r); err != nil {
			return err
		}
	}
	return lines.Err()
}
