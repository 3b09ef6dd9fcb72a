package vgpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/internal/emuproc"
	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/hostio/vgpu/demu"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Process is a running DEMU: the emulator of one vGPU.
type Process struct {
	cfg   Config
	dev   Device
	files Files
	pid   int
	qmp   *qmp.Client
	done  chan struct{}

	released    chan struct{} // closed by Release
	releaseOnce sync.Once

	mu  sync.Mutex
	err error // why the process ended, once done
}

// Start launches the DEMU of dev and waits until its control socket
// answers, at most cfg.ReadyTimeout (and ctx). A non-nil state is what an
// earlier DEMU saved (Save): the new one resumes from it (--resume). A
// DEMU that exits or is not ready in time is killed, its files removed,
// and the error says why (ErrTimeout, or ErrUnavailable with the end of
// its log).
func Start(ctx context.Context, cfg Config, dev Device, state []byte) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(dev); err != nil {
		return nil, err
	}
	files := cfg.Files(dev)
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("vgpu: domain %d: run directory: %w", dev.DomID, emuproc.FileErr(err))
	}
	// What a DEMU of an earlier domain with this id left.
	removeFiles(files, true)
	if err := os.WriteFile(files.Config, configFile(dev), 0o600); err != nil {
		return nil, fmt.Errorf("vgpu: domain %d vGPU %d: config: %w", dev.DomID, dev.DevID, emuproc.FileErr(err))
	}
	if state != nil {
		if err := os.WriteFile(files.State, state, 0o600); err != nil {
			removeFiles(files, true)
			return nil, fmt.Errorf("vgpu: domain %d vGPU %d: state: %w", dev.DomID, dev.DevID, emuproc.FileErr(err))
		}
	}
	logf, err := os.OpenFile(files.Log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		removeFiles(files, true)
		return nil, fmt.Errorf("vgpu: domain %d vGPU %d: log: %w", dev.DomID, dev.DevID, emuproc.FileErr(err))
	}
	defer logf.Close()
	cmd := exec.Command(cfg.Binary, cfg.Args(dev, files, state != nil)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if len(cfg.Env) > 0 {
		cmd.Env = append(os.Environ(), cfg.Env...)
	}
	// Its own session: DEMU outlives the daemon, as the domain does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		removeFiles(files, true)
		return nil, fmt.Errorf("vgpu: domain %d vGPU %d: start %s: %v: %w", dev.DomID, dev.DevID, cfg.Binary, err,
			errdefs.ErrUnavailable)
	}
	p := &Process{cfg: cfg, dev: dev, files: files, pid: cmd.Process.Pid, done: make(chan struct{}),
		released: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exited")
		}
		p.exited(err)
	}()
	if err := emuproc.WritePidFile(files.PidFile, p.pid); err != nil {
		p.kill()
		return nil, fmt.Errorf("vgpu: domain %d vGPU %d: %w", dev.DomID, dev.DevID, err)
	}
	if err := p.connect(ctx); err != nil {
		p.kill()
		return nil, err
	}
	// DEMU read its state before it listened.
	_ = os.Remove(files.State)
	return p, nil
}

// connect dials the control socket until it answers, the process exits,
// or the ready timeout ends.
func (p *Process) connect(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, p.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		c, err := qmp.Dial(ctx, p.files.Control)
		if err == nil {
			p.qmp = c
			return nil
		}
		lastErr = err
		select {
		case <-p.done:
			return fmt.Errorf("vgpu: domain %d vGPU %d: DEMU %s before its socket was ready: %v: %w", p.dev.DomID,
				p.dev.DevID, p.Err(), emuproc.Tail(p.files.Log), errdefs.ErrUnavailable)
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return fmt.Errorf("vgpu: domain %d vGPU %d: waiting for DEMU: %w", p.dev.DomID, p.dev.DevID, err)
			}
			return fmt.Errorf("vgpu: domain %d vGPU %d: DEMU not ready within %s (%v): %w", p.dev.DomID, p.dev.DevID,
				p.cfg.ReadyTimeout, lastErr, errdefs.ErrTimeout)
		case <-tick.C:
		}
	}
}

// Adopt takes over the DEMU of dev that an earlier daemon started: the
// pid file names a live process whose program is cfg.Binary and whose
// command line has this vGPU's control socket, and the socket answers.
// One that is gone is ErrNotFound.
func Adopt(ctx context.Context, cfg Config, dev Device) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(dev); err != nil {
		return nil, err
	}
	files := cfg.Files(dev)
	pid, start, err := emuproc.ReadPidFile(files.PidFile)
	if err != nil {
		return nil, fmt.Errorf("vgpu: adopt domain %d vGPU %d: %w", dev.DomID, dev.DevID, err)
	}
	if err := emuproc.CheckProcess(pid, start, cfg.Binary, []byte("--control="+files.Control+"\x00"), "the DEMU with socket "+files.Control); err != nil {
		return nil, fmt.Errorf("vgpu: adopt domain %d vGPU %d: %w", dev.DomID, dev.DevID, err)
	}
	p := &Process{cfg: cfg, dev: dev, files: files, pid: pid, done: make(chan struct{}), released: make(chan struct{})}
	ctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
	defer cancel()
	c, err := qmp.Dial(ctx, files.Control)
	if err != nil {
		return nil, fmt.Errorf("vgpu: adopt domain %d vGPU %d (pid %d): %w", dev.DomID, dev.DevID, pid, err)
	}
	p.qmp = c
	// Not a child: its exit is seen when its socket closes, then
	// confirmed in /proc.
	go func() {
		<-c.Done()
		select {
		case <-p.released:
			return
		default:
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for emuproc.Alive(pid) {
			<-tick.C
		}
		p.exited(errors.New("exited"))
	}()
	return p, nil
}

// Pid returns DEMU's process id.
func (p *Process) Pid() int { return p.pid }

// Files returns DEMU's files.
func (p *Process) Files() Files { return p.files }

// Control returns the connection to DEMU's control socket.
func (p *Process) Control() *qmp.Client { return p.qmp }

// Device returns the vGPU DEMU emulates.
func (p *Process) Device() Device { return p.dev }

// Done is closed when the process has ended; its socket and pid file are
// removed by then.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the process ended, nil while it runs.
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Query returns the emulator's state, as it would save it.
func (p *Process) Query(ctx context.Context) (demu.State, error) {
	var st demu.State
	err := p.qmp.Run(ctx, "query-vgpu", nil, &st)
	return st, p.wrap("query", err)
}

// Health checks that the emulator answers and runs.
func (p *Process) Health(ctx context.Context) error {
	st, err := p.qmp.QueryStatus(ctx)
	if err != nil {
		return p.wrap("health", err)
	}
	if st.Status != "running" {
		return fmt.Errorf("vgpu: domain %d vGPU %d: DEMU is %s: %w", p.dev.DomID, p.dev.DevID, st.Status,
			errdefs.ErrUnavailable)
	}
	return nil
}

// Save asks DEMU to write its state to its state file, and returns the
// state (the file is removed): what Start resumes from.
func (p *Process) Save(ctx context.Context) ([]byte, error) {
	if _, err := p.qmp.Execute(ctx, "save-state", nil); err != nil {
		return nil, p.wrap("save", err)
	}
	b, err := os.ReadFile(p.files.State)
	if err != nil {
		return nil, fmt.Errorf("vgpu: save domain %d vGPU %d: %w", p.dev.DomID, p.dev.DevID, emuproc.FileErr(err))
	}
	_ = os.Remove(p.files.State)
	if !json.Valid(b) {
		return nil, fmt.Errorf("vgpu: save domain %d vGPU %d: the state is not JSON: %w", p.dev.DomID, p.dev.DevID,
			errdefs.ErrInvalid)
	}
	return b, nil
}

// Release closes the control connection and leaves DEMU running, for
// another handle (a daemon started again) to Adopt.
func (p *Process) Release() {
	p.releaseOnce.Do(func() { close(p.released) })
	if p.qmp != nil {
		p.qmp.Close()
	}
}

// Stop ends DEMU: quit, then SIGTERM after StopGrace, then SIGKILL after
// another, and waits for the end (bounded by ctx). Its files are removed.
// Stopping one that ended is not an error.
func (p *Process) Stop(ctx context.Context) error {
	defer removeFiles(p.files, true)
	if err := emuproc.Stop(ctx, p.qmp, p.pid, p.done, p.cfg.StopGrace); err != nil {
		return fmt.Errorf("vgpu: stop domain %d vGPU %d (pid %d): %w", p.dev.DomID, p.dev.DevID, p.pid, err)
	}
	return nil
}

// signal sends sig to the process (its session) unless it ended.
func (p *Process) signal(sig syscall.Signal) {
	emuproc.Signal(p.pid, p.done, sig)
}

// kill ends a DEMU that failed to start and waits for it.
func (p *Process) kill() {
	p.Release()
	p.signal(syscall.SIGKILL)
	<-p.done
	removeFiles(p.files, true)
}

// exited records the end of the process, removes its socket and pid file,
// and closes Done.
func (p *Process) exited(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	removeFiles(p.files, false)
	close(p.done)
}

func (p *Process) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("vgpu: %s domain %d vGPU %d: %w", what, p.dev.DomID, p.dev.DevID, err)
}
