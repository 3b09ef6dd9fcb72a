package apibench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// XenactordPackage is the command BuildXenactord builds.
const XenactordPackage = "github.com/xenactor/xenactor/cmd/xenactord"

// BuildXenactord builds XenactordPackage with the go command into dir and
// returns the binary's path. It builds in the module of the current
// directory, else from the module cache.
func BuildXenactord(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "xenactord")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, XenactordPackage)
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			cmd.Dir = filepath.Dir(gomod)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apibench: go build %s (or pass -xenactord): %w\n%s", XenactordPackage, err, out)
	}
	return bin, nil
}

// daemonReadyTimeout bounds a started xenactord's start.
const daemonReadyTimeout = time.Minute

// daemonStopTimeout bounds its exit after SIGTERM.
const daemonStopTimeout = 30 * time.Second

// daemonProc is a running xenactord.
type daemonProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
	// config is the client.json it wrote.
	config string
}

// startXenactord runs bin with its API on 127.0.0.1 (a free port), no
// metrics, its directories under dir and hostMiB of simulated host memory,
// and returns once it logged that it is ready.
func startXenactord(ctx context.Context, bin, dir string, hostMiB uint64) (*daemonProc, error) {
	state := filepath.Join(dir, "state")
	d := &daemonProc{stderr: &lockedBuffer{}, done: make(chan struct{}),
		config: filepath.Join(state, "api", "client.json")}
	d.cmd = exec.Command(bin, "-api-addr", "127.0.0.1:0", "-metrics-addr", "", "-migrate-addr", "", "-run-dir", dir,
		"-state-dir", state, "-host-memory", strconv.FormatUint(hostMiB, 10))
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("apibench: starting %s: %w", bin, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(daemonReadyTimeout)
	for !strings.Contains(d.stderr.String(), "xenactord ready") {
		select {
		case <-d.done:
			return nil, fmt.Errorf("apibench: xenactord exited (%v): %s", d.err, tail(d.stderr.String()))
		case <-ctx.Done():
			d.kill()
			return nil, ctx.Err()
		case <-timeout:
			d.kill()
			return nil, fmt.Errorf("apibench: xenactord not ready after %s: %w: %s", daemonReadyTimeout,
				errdefs.ErrTimeout, tail(d.stderr.String()))
		case <-tick.C:
		}
	}
	if _, err := os.Stat(d.config); err != nil {
		d.kill()
		return nil, fmt.Errorf("apibench: xenactord is ready without a client config: %w", err)
	}
	return d, nil
}

// stop sends SIGTERM and returns an error unless the daemon exited with
// status 0 in time.
func (d *daemonProc) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-d.done:
	case <-time.After(daemonStopTimeout):
		d.kill()
		return fmt.Errorf("apibench: xenactord did not exit %s after SIGTERM: %s", daemonStopTimeout,
			tail(d.stderr.String()))
	}
	if d.err != nil {
		return fmt.Errorf("apibench: xenactord exited with %v: %s", d.err, tail(d.stderr.String()))
	}
	return nil
}

// kill kills the daemon and waits for it.
func (d *daemonProc) kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}
