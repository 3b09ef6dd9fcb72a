package evacbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/bench/apibench"
	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// Defaults of Options.
const (
	DefaultHosts     = 3
	DefaultVMs       = 100
	DefaultMemoryMiB = 16
	DefaultParallel  = 8
)

// DefaultBatches are the default batch sizes.
var DefaultBatches = []int{1, 10, 25}

// Options says what to run.
type Options struct {
	// Hosts is the pool's size (2 to 26), VMs the running VMs of the
	// evacuated host, MemoryMiB the memory of each.
	Hosts     int
	VMs       int
	MemoryMiB uint64
	// Batches are the evacuations' batch sizes, one evacuation each.
	Batches []int
	// Parallel is how many VMs the worker creates and moves back at once.
	Parallel int
	// Xenactord is the xenactord binary; "" builds it into a temporary
	// directory (apibench.BuildXenactord). Etcd is the etcd binary; ""
	// looks up `etcd` in PATH.
	Xenactord string
	Etcd      string
	// Worker returns the command of the worker process, which must run
	// WorkerMain; nil re-executes this program as `<it> evac-worker`.
	Worker func() *exec.Cmd
	// Progress, if set, receives progress lines.
	Progress func(format string, args ...any)
}

func (o *Options) defaults() error {
	if o.Hosts == 0 {
		o.Hosts = DefaultHosts
	}
	if o.Hosts < 2 || o.Hosts > 26 {
		return fmt.Errorf("evacbench: %d hosts: from 2 to 26: %w", o.Hosts, errdefs.ErrInvalid)
	}
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	if o.MemoryMiB == 0 {
		o.MemoryMiB = DefaultMemoryMiB
	}
	if len(o.Batches) == 0 {
		o.Batches = DefaultBatches
	}
	for _, b := range o.Batches {
		if b <= 0 {
			return fmt.Errorf("evacbench: batch %d: %w", b, errdefs.ErrInvalid)
		}
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	if o.Worker == nil {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Worker = func() *exec.Cmd { return exec.Command(exe, "evac-worker") }
	}
	return nil
}

// Timeouts of the processes: a daemon's or etcd's start, a daemon's exit
// after SIGTERM, the worker's exit once it answered.
const (
	readyTimeout = time.Minute
	stopTimeout  = 30 * time.Second
)

// hostMemoryMiB is each host's memory: every VM fits on any host, with
// room to spare for dom0.
func hostMemoryMiB(o Options) uint64 { return uint64(o.VMs)*o.MemoryMiB + 2048 }

// Run starts etcd and the pool, runs the worker and stops everything,
// returning the report. Its error says why there is no report; a report
// may still hold errors and violations (Report.Problems).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	p, err := startPool(ctx, poolConfig{Hosts: o.Hosts, HostMemoryMiB: hostMemoryMiB(o), Xenactord: o.Xenactord,
		Etcd: o.Etcd, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	defer p.close()
	rep := &Report{Hosts: o.Hosts, VMs: o.VMs, MemoryMiB: o.MemoryMiB, Source: hostName(0), DaemonExit: "clean"}
	w, err := startWorker(o.Worker())
	if err != nil {
		return nil, err
	}
	defer w.kill()
	cfg := workerConfig{ClientConfig: p.clientConfig(), Source: rep.Source, Hosts: p.names, VMs: o.VMs,
		MemoryKiB: o.MemoryMiB << 10, Batches: o.Batches, Parallel: o.Parallel}
	res, err := w.run(ctx, cfg, o.Progress, nil)
	if err != nil {
		return nil, err
	}
	rep.SetupMS, rep.Rows = res.SetupMS, res.Rows
	if res.Error != "" {
		return nil, fmt.Errorf("evacbench worker: %s", res.Error)
	}
	if err := w.wait(); err != nil {
		return nil, err
	}
	rep.DaemonExit = p.stopHosts()
	return rep, nil
}

// poolConfig is the pool a run starts.
type poolConfig struct {
	Hosts         int
	HostMemoryMiB uint64
	Xenactord     string // "" builds it
	Etcd          string // "" is etcd in PATH
	Progress      func(format string, args ...any)
}

// pool is a run's etcd and xenactord processes, in a temporary directory.
type pool struct {
	dir   string
	etcd  *proc
	hosts []*proc
	names []string
}

// startPool builds xenactord (unless given), starts etcd and the hosts
// (host-a, host-b, ...) in a pool, and waits until every host published
// its migration address.
func startPool(ctx context.Context, c poolConfig) (_ *pool, err error) {
	// Unix sockets live under the run directories: keep the paths short.
	dir, err := os.MkdirTemp("", "evacbench-")
	if err != nil {
		return nil, err
	}
	p := &pool{dir: dir}
	defer func() {
		if err != nil {
			p.stopHosts()
			p.close()
		}
	}()
	if c.Xenactord == "" {
		c.Progress("building xenactord")
		if c.Xenactord, err = apibench.BuildXenactord(ctx, dir); err != nil {
			return nil, err
		}
	}
	if c.Etcd == "" {
		c.Etcd = "etcd"
	}
	if c.Etcd, err = testenv.Lookup(c.Etcd); err != nil {
		return nil, fmt.Errorf("evacbench: etcd (Debian's etcd-server): %w", err)
	}
	et, url, err := startEtcd(ctx, c.Etcd, filepath.Join(dir, "etcd"))
	if err != nil {
		return nil, err
	}
	p.etcd = et
	c.Progress("etcd at %s", url)
	creds := filepath.Join(dir, "creds")
	for i := range c.Hosts {
		name := hostName(i)
		runDir := filepath.Join(dir, strconv.Itoa(i))
		h, err := startProc(ctx, exec.Command(c.Xenactord, "-api-addr", "127.0.0.1:0", "-metrics-addr", "",
			"-migrate-addr", "127.0.0.1:0", "-run-dir", runDir, "-state-dir", filepath.Join(runDir, "state"),
			"-host-memory", strconv.FormatUint(c.HostMemoryMiB, 10), "-host-name", name,
			"-pool-addr", "127.0.0.1:0", "-pool-name", poolName, "-etcd", url, "-pool-credentials", creds),
			"xenactord ready")
		if err != nil {
			return nil, fmt.Errorf("evacbench: %s: %w", name, err)
		}
		p.hosts, p.names = append(p.hosts, h), append(p.names, name)
	}
	if err := waitMigrateAddrs(ctx, url, p.names); err != nil {
		return nil, err
	}
	c.Progress("%d hosts up", c.Hosts)
	return p, nil
}

// clientConfig is host-a's client.json.
func (p *pool) clientConfig() string { return filepath.Join(p.dir, "0", "state", "api", "client.json") }

// pids are the hosts' processes, in the order of names.
func (p *pool) pids() []int {
	out := make([]int, len(p.hosts))
	for i, h := range p.hosts {
		out[i] = h.cmd.Process.Pid
	}
	return out
}

// stopHosts sends each host SIGTERM and returns "clean" when each exited
// with status 0, else what went wrong. Idempotent.
func (p *pool) stopHosts() string {
	var msgs []string
	for i, h := range p.hosts {
		if err := h.stop(); err != nil {
			msgs = append(msgs, p.names[i]+": "+err.Error())
		}
	}
	p.hosts = nil
	if len(msgs) > 0 {
		return strings.Join(msgs, "; ")
	}
	return "clean"
}

// close stops what still runs, etcd last, and removes the directory.
func (p *pool) close() {
	p.stopHosts()
	if p.etcd != nil {
		p.etcd.kill()
	}
	_ = os.RemoveAll(p.dir)
}

// poolName is the pool's name.
const poolName = "evacbench"

// waitMigrateAddrs waits until every host published its migration address
// in its report in etcd: an evacuation skips the hosts that did not yet.
func waitMigrateAddrs(ctx context.Context, url string, hosts []string) error {
	c, err := etcd.New([]string{url})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		kvs, err := c.Get(ctx, "/xenactor/pools/"+poolName+"/hosts/")
		published := map[string]bool{}
		for _, kv := range kvs {
			var rec struct {
				Name           string `json:"name"`
				MigrateAddress string `json:"migrate_address"`
			}
			if json.Unmarshal(kv.Value, &rec) == nil && rec.MigrateAddress != "" {
				published[rec.Name] = true
			}
		}
		missing := 0
		for _, h := range hosts {
			if !published[h] {
				missing++
			}
		}
		if err == nil && missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("evacbench: %d hosts published no migration address after %s (%v): %w", missing,
				readyTimeout, err, errdefs.ErrTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hostName is the name of host i: host-a, host-b, ...
func hostName(i int) string { return "host-" + string(rune('a'+i)) }

// proc is a started process.
type proc struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// startProc starts cmd, its stderr and stdout in a buffer, and waits
// until its output contains ready ("" does not wait).
func startProc(ctx context.Context, cmd *exec.Cmd, ready string) (*proc, error) {
	p := &proc{cmd: cmd, out: &testenv.Buffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if ready == "" {
		return p, nil
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(readyTimeout)
	for !strings.Contains(p.out.String(), ready) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited (%v): %s", cmd.Path, p.err, tail(p.out.String()))
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-timeout:
			p.kill()
			return nil, fmt.Errorf("%s not ready after %s: %w: %s", cmd.Path, readyTimeout, errdefs.ErrTimeout,
				tail(p.out.String()))
		case <-tick.C:
		}
	}
	return p, nil
}

// stop sends SIGTERM and returns an error unless the process exited with
// status 0 in time (it is killed then).
func (p *proc) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("no exit %s after SIGTERM: %s", stopTimeout, tail(p.out.String()))
	}
	if p.err != nil {
		return fmt.Errorf("exit: %v: %s", p.err, tail(p.out.String()))
	}
	return nil
}

// kill kills the process and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startEtcd runs etcd with its data in dir on two free 127.0.0.1 ports and
// returns its client URL once it answers.
func startEtcd(ctx context.Context, bin, dir string) (*proc, string, error) {
	client, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	peer, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	client, peer = "http://"+client, "http://"+peer
	p, err := startProc(ctx, exec.Command(bin, "--name", "evacbench", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "evacbench="+peer, "--initial-cluster-state", "new",
		"--log-level", "warn", "--logger", "zap"), "")
	if err != nil {
		return nil, "", err
	}
	c, err := etcd.New([]string{client})
	if err != nil {
		p.kill()
		return nil, "", err
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := c.Put(pctx, "/evacbench/ready", []byte("1"), 0)
		cancel()
		if err == nil {
			return p, client, nil
		}
		select {
		case <-p.done:
			return nil, "", fmt.Errorf("evacbench: etcd exited (%v): %s", p.err, tail(p.out.String()))
		case <-ctx.Done():
			p.kill()
			return nil, "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, "", fmt.Errorf("evacbench: etcd does not answer after %s (%v): %w", readyTimeout, err,
				errdefs.ErrTimeout)
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// worker is the started worker process.
type worker struct {
	*proc
	stdin io.Closer
	write func(string) error
	lines chan string
	wg    sync.WaitGroup
}

// startWorker starts cmd, reading its protocol lines.
func startWorker(cmd *exec.Cmd) (*worker, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// Not StdoutPipe: Wait would close it before the last lines are read.
	// Wait waits for the copy into pw; pw is closed after it.
	stdout, pw := io.Pipe()
	cmd.Stdout = pw
	w := &worker{stdin: stdin, lines: make(chan string, 16)}
	w.write = func(s string) error { _, err := fmt.Fprintln(stdin, s); return err }
	if w.proc, err = startProc(context.Background(), cmd, ""); err != nil {
		return nil, fmt.Errorf("evacbench: worker: %w", err)
	}
	go func() {
		<-w.done
		_ = pw.Close()
	}()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(w.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, progressPrefix) || strings.HasPrefix(l, resultPrefix) ||
				strings.HasPrefix(l, phasePrefix) {
				w.lines <- l
			}
		}
	}()
	return w, nil
}

// run sends cfg and returns the worker's result, passing its progress
// lines on, and its phase lines to phase (if not nil).
func (w *worker) run(ctx context.Context, cfg workerConfig, progress func(string, ...any),
	phase func(string)) (*workerResult, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := w.write(string(b)); err != nil {
		return nil, fmt.Errorf("evacbench: the worker's stdin: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case l, ok := <-w.lines:
			if !ok {
				<-w.done
				return nil, fmt.Errorf("evacbench: the worker exited (%v): %s", w.err, tail(w.out.String()))
			}
			if s, ok := strings.CutPrefix(l, progressPrefix); ok {
				progress("%s", s)
				continue
			}
			if s, ok := strings.CutPrefix(l, phasePrefix); ok {
				if phase != nil {
					phase(s)
				}
				continue
			}
			var r workerResult
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, resultPrefix)), &r); err != nil {
				return nil, fmt.Errorf("evacbench: the worker's result: %w", err)
			}
			return &r, nil
		}
	}
}

// wait waits for the worker's exit after its result; it must be 0.
func (w *worker) wait() error {
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("evacbench: the worker did not exit: %s", tail(w.out.String()))
	}
	if w.err != nil {
		return fmt.Errorf("evacbench: the worker exited with %v: %s", w.err, tail(w.out.String()))
	}
	return nil
}

// kill kills the worker if it still runs and waits for it.
func (w *worker) kill() {
	_ = w.stdin.Close()
	_ = w.cmd.Process.Kill()
	for range w.lines {
	}
	w.wg.Wait()
	<-w.done
}

// tail is the end of a process's output, for an error.
func tail(s string) string {
	const n = 2000
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
