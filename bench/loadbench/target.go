package loadbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The commands a run builds when Config names no binaries.
const (
	XenactordPackage = "github.com/xenactor/xenactor/cmd/xenactord"
	SimHostPackage   = "github.com/xenactor/xenactor/cmd/xenactor-simhost"
)

// Build builds pkg with the go command into dir/name and returns the
// binary's path. It builds in the module of the current directory, else
// from the module cache.
func Build(ctx context.Context, dir, pkg, name string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			cmd.Dir = filepath.Dir(gomod)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("loadbench: go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// The timeouts of a started process.
const (
	readyTimeout = time.Minute
	stopTimeout  = 30 * time.Second
)

// proc is a started xenactord or xenactor-simhost.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
}

// startProc starts cmd and returns once its output has ready.
func startProc(ctx context.Context, name string, cmd *exec.Cmd, ready string) (*proc, error) {
	p := &proc{name: name, cmd: cmd, stderr: &tailBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadbench: starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(readyTimeout)
	for !strings.Contains(p.stderr.Head(), ready) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("loadbench: %s exited (%v): %s", name, p.err, p.stderr.String())
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-timeout:
			p.kill()
			return nil, fmt.Errorf("loadbench: %s not ready after %s: %w: %s", name, readyTimeout,
				errdefs.ErrTimeout, p.stderr.String())
		case <-tick.C:
		}
	}
	return p, nil
}

// pid returns the process's id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and returns an error unless the process exited with
// status 0 in time.
func (p *proc) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("%s did not exit %s after SIGTERM: %s", p.name, stopTimeout, p.stderr.String())
	}
	if p.err != nil {
		return fmt.Errorf("%s exited with %v: %s", p.name, p.err, p.stderr.String())
	}
	return nil
}

// kill kills the process and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// target is the daemon a run drives.
type target struct {
	// config is its client.json; metrics the host:port of its /metrics
	// ("" when unknown).
	config  string
	metrics string
	// pid and simPID are the daemon's and the separate simulated host's
	// processes (0 when unknown or none).
	pid, simPID int
	daemon, sim *proc
	// pprof and simPprof are the processes' profile addresses (host:port),
	// "" unless Config.Profile.
	pprof, simPprof string
}

// metricsAddr finds the metrics address in xenactord's ready line, and
// pprofAddr the profiles' in its and xenactor-simhost's.
var (
	metricsAddr = regexp.MustCompile(`metrics=([0-9.]+:[0-9]+)`)
	pprofAddr   = regexp.MustCompile(`pprof=([0-9.]+:[0-9]+)`)
)

// startTarget builds (unless given) and starts xenactord with its API and
// metrics on 127.0.0.1 (free ports), its directories under dir and hostMiB
// of simulated host memory, on a separate xenactor-simhost if c.SimHost.
func startTarget(ctx context.Context, c Config, dir string, hostMiB uint64,
	progress func(string, ...any)) (*target, error) {
	bin := c.Xenactord
	var err error
	if bin == "" {
		progress("building xenactord")
		if bin, err = Build(ctx, dir, XenactordPackage, "xenactord"); err != nil {
			return nil, fmt.Errorf("%w (or pass -xenactord)", err)
		}
	}
	t := &target{}
	state := filepath.Join(dir, "state")
	args := []string{"-api-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-migrate-addr", "", "-run-dir", dir,
		"-state-dir", state, "-host-memory", strconv.FormatUint(hostMiB, 10), "-console", c.Console}
	var profile []string
	if c.Profile != "" {
		profile = []string{"-pprof-addr", "127.0.0.1:0"}
		args = append(args, profile...)
	}
	if c.SimHost {
		sbin := c.SimHostBin
		if sbin == "" {
			progress("building xenactor-simhost")
			if sbin, err = Build(ctx, dir, SimHostPackage, "xenactor-simhost"); err != nil {
				return nil, fmt.Errorf("%w (or pass -simhost-bin)", err)
			}
		}
		sdir := filepath.Join(dir, "sh")
		sargs := append([]string{"-run-dir", sdir, "-host-memory", strconv.FormatUint(hostMiB, 10)}, profile...)
		t.sim, err = startProc(ctx, "xenactor-simhost", exec.Command(sbin, sargs...), "simhost ready")
		if err != nil {
			return nil, err
		}
		t.simPID = t.sim.pid()
		if m := pprofAddr.FindStringSubmatch(t.sim.stderr.Head()); m != nil {
			t.simPprof = m[1]
		}
		args = append(args, "-hypervisor", "unix:"+filepath.Join(sdir, "hypervisor.sock"),
			"-xenstored", filepath.Join(sdir, "xenstored.sock"))
	}
	progress("starting xenactord")
	t.daemon, err = startProc(ctx, "xenactord", exec.Command(bin, args...), "xenactord ready")
	if err != nil {
		t.stop()
		return nil, err
	}
	t.pid = t.daemon.pid()
	t.config = filepath.Join(state, "api", "client.json")
	if m := metricsAddr.FindStringSubmatch(t.daemon.stderr.Head()); m != nil {
		t.metrics = m[1]
	}
	if m := pprofAddr.FindStringSubmatch(t.daemon.stderr.Head()); m != nil {
		t.pprof = m[1]
	}
	if _, err := os.Stat(t.config); err != nil {
		t.stop()
		return nil, fmt.Errorf("loadbench: xenactord is ready without a client config: %w", err)
	}
	return t, nil
}

// stop stops the processes it started, the daemon first; it returns
// "clean" when each exited with status 0, else why not ("" when it
// started none).
func (t *target) stop() string {
	var errs []error
	if t.daemon != nil {
		errs = append(errs, t.daemon.stop())
	}
	if t.sim != nil {
		errs = append(errs, t.sim.stop())
	}
	if t.daemon == nil && t.sim == nil {
		return ""
	}
	if err := errors.Join(errs...); err != nil {
		return err.Error()
	}
	return "clean"
}

// Usage is a process's resource use.
type Usage struct {
	PID int
	// CPUSeconds is its user and system time during the run.
	CPUSeconds float64
	// PeakRSSKiB is its VmHWM (its peak since it started); RSSKiB its
	// resident memory at the end.
	PeakRSSKiB uint64
	RSSKiB     uint64
}

// scrape returns the sum of each metric of names (every label set) on the
// /metrics of addr whose line contains match.
func scrape(ctx context.Context, addr string, names []string, match string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || !strings.Contains(l, match) {
			continue
		}
		for _, n := range names {
			if rest, ok := strings.CutPrefix(l, n); ok && rest != "" && (rest[0] == '{' || rest[0] == ' ') {
				f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
				if len(f) > 0 {
					v, _ := strconv.ParseFloat(f[0], 64)
					out[n] += v
				}
			}
		}
	}
	return out, sc.Err()
}
