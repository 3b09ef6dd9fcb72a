package devicemodel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/internal/emuproc"
	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// DM is a running device model.
type DM struct {
	cfg   Config
	files Files
	pid   int
	qmp   *qmp.Client
	done  chan struct{}

	released    chan struct{} // closed by Release
	releaseOnce sync.Once

	mu  sync.Mutex
	err error // why the process ended, once done
}

// Start launches the device model of cfg.DomID and waits until its QMP
// socket answers, at most cfg.ReadyTimeout (and ctx). A device model that
// exits or does not get ready in time is killed, its files removed, and
// the error says why (ErrTimeout, or ErrUnavailable with the end of its
// log).
func Start(ctx context.Context, cfg Config) (*DM, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	files := cfg.Files()
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("devicemodel: domain %d: run directory: %w", cfg.DomID, emuproc.FileErr(err))
	}
	// What a device model of an earlier domain with this id left.
	removeFiles(files, false)
	logf, err := os.OpenFile(files.Log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("devicemodel: domain %d: log: %w", cfg.DomID, emuproc.FileErr(err))
	}
	defer logf.Close()
	cmd := exec.Command(cfg.Binary, append(cfg.Args(cfg, files), cfg.ExtraArgs...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: the device model outlives the daemon, as the
	// domain does, and no signal to the daemon's group reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devicemodel: domain %d: start %s: %v: %w", cfg.DomID, cfg.Binary, err,
			errdefs.ErrUnavailable)
	}
	d := &DM{cfg: cfg, files: files, pid: cmd.Process.Pid, done: make(chan struct{}), released: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exited")
		}
		d.exited(err)
	}()
	if err := emuproc.WritePidFile(files.PidFile, d.pid); err != nil {
		d.kill()
		return nil, fmt.Errorf("devicemodel: domain %d: %w", cfg.DomID, err)
	}
	if err := d.connect(ctx); err != nil {
		d.kill()
		return nil, err
	}
	return d, nil
}

// connect dials QMP until it answers, the process exits, or the ready
// timeout ends.
func (d *DM) connect(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, d.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		c, err := qmp.Dial(ctx, d.files.QMP)
		if err == nil {
			d.qmp = c
			return nil
		}
		lastErr = err
		select {
		case <-d.done:
			return fmt.Errorf("devicemodel: domain %d: QEMU %s before QMP was ready: %v: %w", d.cfg.DomID,
				d.Err(), emuproc.Tail(d.files.Log), errdefs.ErrUnavailable)
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return fmt.Errorf("devicemodel: domain %d: waiting for QMP: %w", d.cfg.DomID, err)
			}
			return fmt.Errorf("devicemodel: domain %d: QMP not ready within %s (%v): %w", d.cfg.DomID,
				d.cfg.ReadyTimeout, lastErr, errdefs.ErrTimeout)
		case <-tick.C:
		}
	}
}

// Adopt takes over the device model of cfg.DomID that an earlier daemon
// started: the pid file names a live process whose program is cfg.Binary
// and whose command line has this domain's QMP socket, and QMP answers.
// A device model that is gone is ErrNotFound.
func Adopt(ctx context.Context, cfg Config) (*DM, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	files := cfg.Files()
	pid, start, err := emuproc.ReadPidFile(files.PidFile)
	if err != nil {
		return nil, fmt.Errorf("devicemodel: adopt domain %d: %w", cfg.DomID, err)
	}
	if err := emuproc.CheckProcess(pid, start, cfg.Binary, []byte(files.QMP), "the device model with socket "+files.QMP); err != nil {
		return nil, fmt.Errorf("devicemodel: adopt domain %d: %w", cfg.DomID, err)
	}
	d := &DM{cfg: cfg, files: files, pid: pid, done: make(chan struct{}), released: make(chan struct{})}
	ctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
	defer cancel()
	c, err := qmp.Dial(ctx, files.QMP)
	if err != nil {
		return nil, fmt.Errorf("devicemodel: adopt domain %d (pid %d): %w", cfg.DomID, pid, err)
	}
	d.qmp = c
	// Not a child: its exit is seen through QMP, whose socket closes when
	// it dies, then confirmed in /proc.
	go func() {
		<-c.Done()
		select {
		case <-d.released:
			return // left to another handle
		default:
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for emuproc.Alive(pid) {
			<-tick.C
		}
		d.exited(errors.New("exited"))
	}()
	return d, nil
}

// Pid returns QEMU's process id.
func (d *DM) Pid() int { return d.pid }

// Files returns the device model's files.
func (d *DM) Files() Files { return d.files }

// QMP returns the QMP connection.
func (d *DM) QMP() *qmp.Client { return d.qmp }

// Done is closed when the process has ended; its files are removed by
// then.
func (d *DM) Done() <-chan struct{} { return d.done }

// Err returns how the process ended ("signal: killed", "exit status 1"),
// nil while it runs.
func (d *DM) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Pause stops the emulation (QMP stop).
func (d *DM) Pause(ctx context.Context) error {
	_, err := d.qmp.Execute(ctx, "stop", nil)
	return d.wrap("pause", err)
}

// Resume continues the emulation (QMP cont).
func (d *DM) Resume(ctx context.Context) error {
	_, err := d.qmp.Execute(ctx, "cont", nil)
	return d.wrap("resume", err)
}

// Status returns QEMU's run state ("running", "paused", ...).
func (d *DM) Status(ctx context.Context) (string, error) {
	st, err := d.qmp.QueryStatus(ctx)
	return st.Status, d.wrap("status", err)
}

// Release closes the QMP connection and leaves the process running, for
// another handle (a daemon started again) to Adopt. Done is not closed by
// it for a child of this process.
func (d *DM) Release() {
	d.releaseOnce.Do(func() { close(d.released) })
	if d.qmp != nil {
		d.qmp.Close()
	}
}

// Stop ends the device model: QMP quit, then SIGTERM after StopGrace,
// then SIGKILL after another, and waits for the process to end (bounded
// by ctx). Its files are removed. Stopping one that ended is not an error.
func (d *DM) Stop(ctx context.Context) error {
	defer removeFiles(d.files, true)
	if err := emuproc.Stop(ctx, d.qmp, d.pid, d.done, d.cfg.StopGrace); err != nil {
		return fmt.Errorf("devicemodel: stop domain %d (pid %d): %w", d.cfg.DomID, d.pid, err)
	}
	return nil
}

// signal sends sig to the process unless it ended.
func (d *DM) signal(sig syscall.Signal) {
	emuproc.Signal(d.pid, d.done, sig)
}

// kill ends a device model that failed to start and waits for it.
func (d *DM) kill() {
	d.Release()
	d.signal(syscall.SIGKILL)
	<-d.done
	removeFiles(d.files, true)
}

// exited records the end of the process, removes its socket and pid file,
// and closes Done.
func (d *DM) exited(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
	removeFiles(d.files, false)
	close(d.done)
}

func (d *DM) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("devicemodel: %s domain %d: %w", what, d.cfg.DomID, err)
}

// removeFiles removes the socket and pid file, and the log too if withLog.
func removeFiles(f Files, withLog bool) {
	_ = os.Remove(f.QMP)
	_ = os.Remove(f.PidFile)
	if withLog {
		_ = os.Remove(f.Log)
	}
}
