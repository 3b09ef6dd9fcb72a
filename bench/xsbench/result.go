package xsbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Dialer opens one client connection to the daemon under test.
type Dialer func(ctx context.Context) (*xenstore.Client, error)

// SocketDialer dials the Unix socket at path.
func SocketDialer(path string) Dialer {
	return func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, path) }
}

// Limit ends a measurement after Duration or after Ops operations, whichever
// comes first; a zero field does not limit. At least one must be set.
type Limit struct {
	Duration time.Duration
	Ops      int64
}

func (l Limit) check() error {
	if l.Duration <= 0 && l.Ops <= 0 {
		return errors.New("xsbench: limit needs a duration or an op count")
	}
	return nil
}

// watchdog closes the connections when ctx ends, failing whatever they
// wait for. Operations then run with context.WithoutCancel(ctx): a context
// that cannot end costs the client nothing per request, and the load
// generator should spend as little as it can. Call the returned func when
// done.
func watchdog(ctx context.Context, cs []*xenstore.Client) (stop func()) {
	s := context.AfterFunc(ctx, func() { closeAll(cs) })
	return func() { s() }
}

// Result is one measurement of one daemon.
type Result struct {
	// Ops counts completed operations (pairs, commits or delivered events).
	Ops int64 `json:"ops"`
	// Duration is the wall time of the measured phase (set-up excluded).
	Duration  time.Duration `json:"duration_ns"`
	OpsPerSec float64       `json:"ops_per_sec"`
	// Latencies of single operations.
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	Mean time.Duration `json:"mean_ns"`
	// Errors counts failed operations and failed checks; FirstError is the
	// first of them.
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
	// Attempts counts transaction attempts (Txn only): Ops commits took
	// Attempts tries, so Attempts-Ops conflicted.
	Attempts int64 `json:"attempts,omitempty"`
	// ConflictRate is (Attempts-Ops)/Attempts (Txn only).
	ConflictRate float64 `json:"conflict_rate,omitempty"`
	// Setup is the time spent preparing the measurement, e.g. registering
	// the unrelated watches (WatchDelivery only); it is not in Duration.
	Setup time.Duration `json:"setup_ns,omitempty"`
	// Skipped says why the measurement was not made (set-up too slow, ...).
	Skipped string `json:"skipped,omitempty"`
	// DaemonCPU is the CPU time (user+system) the daemon process used
	// during Duration, when a CPU meter was given (WithCPUMeter); 0 if not.
	DaemonCPU time.Duration `json:"daemon_cpu_ns,omitempty"`
	// LoadCPU is the CPU time this process (the load generator, and the
	// daemon too when it runs in process) used during Duration.
	LoadCPU time.Duration `json:"load_cpu_ns,omitempty"`
}

// CPUPerOp is the daemon's CPU time per operation, 0 if not measured.
func (r *Result) CPUPerOp() time.Duration {
	if r == nil || r.Ops == 0 || r.DaemonCPU <= 0 {
		return 0
	}
	return r.DaemonCPU / time.Duration(r.Ops)
}

// CPUMeter returns the CPU time a daemon process has used so far.
type CPUMeter func() (time.Duration, error)

type cpuMeterKey struct{}

// WithCPUMeter returns a context under which scenarios record the CPU time
// m reports over their measured phase in Result.DaemonCPU.
func WithCPUMeter(ctx context.Context, m CPUMeter) context.Context {
	return context.WithValue(ctx, cpuMeterKey{}, m)
}

// ProcessCPU meters the process pid from /proc/<pid>/stat (Linux).
func ProcessCPU(pid int) CPUMeter {
	return func() (time.Duration, error) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return 0, err
		}
		// Fields after the command name, which is in parentheses and may
		// hold spaces: state is field 3, utime 14, stime 15.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return 0, errors.New("xsbench: malformed /proc stat")
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			return 0, errors.New("xsbench: malformed /proc stat")
		}
		ut, err1 := strconv.ParseInt(f[11], 10, 64)
		st, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, errors.New("xsbench: malformed /proc stat")
		}
		return time.Duration(ut+st) * time.Second / clockTicks, nil
	}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// recorder collects per-operation durations and errors from many workers.
type recorder struct {
	limit   Limit
	meter   CPUMeter
	cpu0    time.Duration // daemon CPU at the start, if metered
	self0   time.Duration
	stopped bool
	cpu     time.Duration // daemon CPU over the run, -1 if unknown
	self    time.Duration
	tickets atomic.Int64
	end     time.Time // zero without a duration limit

	mu       sync.Mutex
	lat      []time.Duration
	errors   int64
	firstErr error
}

// newRecorder starts recording at start; ctx may carry a CPU meter.
func newRecorder(ctx context.Context, l Limit, start time.Time) *recorder {
	r := &recorder{limit: l, cpu: -1}
	if l.Duration > 0 {
		r.end = start.Add(l.Duration)
	}
	if m, ok := ctx.Value(cpuMeterKey{}).(CPUMeter); ok && m != nil {
		if c, err := m(); err == nil {
			r.meter, r.cpu0 = m, c
		}
	}
	r.self0 = selfCPU()
	return r
}

// stop ends the CPU accounting; result calls it if nobody did before.
func (r *recorder) stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.self = selfCPU() - r.self0
	if r.meter != nil {
		if c, err := r.meter(); err == nil {
			r.cpu = c - r.cpu0
		}
	}
}

// next reports whether a worker may start another operation at now.
func (r *recorder) next(now time.Time) bool {
	if !r.end.IsZero() && now.After(r.end) {
		return false
	}
	return r.limit.Ops <= 0 || r.tickets.Add(1) <= r.limit.Ops
}

// worker is one worker's private log, merged into the recorder at the end.
type worker struct {
	lat      []time.Duration
	errors   int64
	firstErr error
}

func (w *worker) fail(err error) {
	w.errors++
	if w.firstErr == nil {
		w.firstErr = err
	}
}

func (r *recorder) merge(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, w.lat...)
	r.errors += w.errors
	if r.firstErr == nil {
		r.firstErr = w.firstErr
	}
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// result summarises the recorded operations over elapsed.
func (r *recorder) result(elapsed time.Duration) Result {
	r.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Ops: int64(len(r.lat)), Duration: elapsed, Errors: r.errors, LoadCPU: r.self}
	if r.cpu >= 0 {
		res.DaemonCPU = r.cpu
	}
	if r.firstErr != nil {
		res.FirstError = r.firstErr.Error()
	}
	if elapsed > 0 {
		res.OpsPerSec = float64(res.Ops) / elapsed.Seconds()
	}
	if len(r.lat) > 0 {
		slices.Sort(r.lat)
		res.P50 = percentile(r.lat, 0.50)
		res.P99 = percentile(r.lat, 0.99)
		var sum time.Duration
		for _, d := range r.lat {
			sum += d
		}
		res.Mean = sum / time.Duration(len(r.lat))
	}
	return res
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// runCtx bounds a whole measurement: its duration plus a margin, or a fixed
// bound for an op-count run.
func runCtx(ctx context.Context, l Limit) (context.Context, context.CancelFunc) {
	bound := 10 * time.Minute
	if l.Duration > 0 {
		bound = l.Duration + time.Minute
	}
	return context.WithTimeout(ctx, bound)
}

// dialAll opens n connections one after another (upstream daemons listen
// with a backlog of one).
func dialAll(ctx context.Context, dial Dialer, n int) ([]*xenstore.Client, error) {
	cs := make([]*xenstore.Client, 0, n)
	for i := range n {
		c, err := dial(ctx)
		if err != nil {
			closeAll(cs)
			return nil, fmt.Errorf("xsbench: connection %d of %d: %w", i+1, n, err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func closeAll(cs []*xenstore.Client) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// cleanup removes a scenario's subtree with a fresh connection.
func cleanup(ctx context.Context, dial Dialer, path string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Rm(ctx, path); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}
