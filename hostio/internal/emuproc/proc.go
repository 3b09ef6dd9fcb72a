package emuproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Spec is one emulator process: its program and arguments, its files, and
// how it is named in errors.
type Spec struct {
	// What prefixes the errors ("devicemodel: domain 3"); Name is the
	// program's name in them ("QEMU").
	What, Name string
	Binary     string
	Args       []string
	// Env is added to the daemon's environment; nil inherits it.
	Env []string
	// Socket is the QMP-speaking control socket, Log the program's output,
	// PidFile its pid file.
	Socket, Log, PidFile string
	// Identity is what the command line of the process must hold to be
	// adopted (its control socket's argument).
	Identity []byte
	// ReadyTimeout bounds the wait for the socket; StopGrace each step of
	// the graceful stop.
	ReadyTimeout, StopGrace time.Duration
	// Remove removes the emulator's files: the socket and pid file, and
	// the rest too when all.
	Remove func(all bool)
}

// Proc is a running emulator with its control connection.
type Proc struct {
	spec Spec
	pid  int
	qmp  *qmp.Client
	done chan struct{}

	released    chan struct{} // closed by Release
	releaseOnce sync.Once

	mu  sync.Mutex
	err error // why the process ended, once done
}

// Launch starts the emulator of spec in its own session (it outlives the
// daemon, as its domain does, and no signal to the daemon's group reaches
// it), writes its pid file and waits until its socket answers, at most
// ReadyTimeout (and ctx). One that exits or is not ready in time is
// killed, its files removed, and the error says why (ErrTimeout, or
// ErrUnavailable with the end of its log).
func Launch(ctx context.Context, spec Spec) (*Proc, error) {
	logf, err := os.OpenFile(spec.Log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		spec.Remove(true)
		return nil, fmt.Errorf("%s: log: %w", spec.What, FileErr(err))
	}
	defer logf.Close()
	cmd := exec.Command(spec.Binary, spec.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if len(spec.Env) > 0 {
		cmd.Env = append(os.Environ(), spec.Env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		spec.Remove(true)
		return nil, fmt.Errorf("%s: start %s: %v: %w", spec.What, spec.Binary, err, errdefs.ErrUnavailable)
	}
	p := newProc(spec, cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exited")
		}
		p.exited(err)
	}()
	if err := WritePidFile(spec.PidFile, p.pid); err != nil {
		p.kill()
		return nil, fmt.Errorf("%s: %w", spec.What, err)
	}
	if err := p.connect(ctx); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// Attach takes over the emulator of spec that an earlier daemon started:
// its pid file names a live process, started when it says, whose program
// is Binary and whose command line holds Identity, and its socket
// answers. One that is gone is ErrNotFound. Not a child, its end is seen
// when its socket closes, then confirmed in /proc.
func Attach(ctx context.Context, spec Spec) (*Proc, error) {
	pid, start, err := ReadPidFile(spec.PidFile)
	if err != nil {
		return nil, fmt.Errorf("%s: adopt: %w", spec.What, err)
	}
	if err := CheckProcess(pid, start, spec.Binary, spec.Identity, "the "+spec.Name+" with socket "+spec.Socket); err != nil {
		return nil, fmt.Errorf("%s: adopt: %w", spec.What, err)
	}
	ctx, cancel := context.WithTimeout(ctx, spec.ReadyTimeout)
	defer cancel()
	c, err := qmp.Dial(ctx, spec.Socket)
	if err != nil {
		return nil, fmt.Errorf("%s: adopt (pid %d): %w", spec.What, pid, err)
	}
	p := newProc(spec, pid)
	p.qmp = c
	go func() {
		<-c.Done()
		select {
		case <-p.released:
			return // left to another handle
		default:
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for Alive(pid) {
			<-tick.C
		}
		p.exited(errors.New("exited"))
	}()
	return p, nil
}

func newProc(spec Spec, pid int) *Proc {
	return &Proc{spec: spec, pid: pid, done: make(chan struct{}), released: make(chan struct{})}
}

// connect dials the socket until it answers, the process exits, or the
// ready timeout ends.
func (p *Proc) connect(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, p.spec.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		c, err := qmp.Dial(ctx, p.spec.Socket)
		if err == nil {
			p.qmp = c
			return nil
		}
		lastErr = err
		select {
		case <-p.done:
			return fmt.Errorf("%s: %s %s before its socket was ready: %v: %w", p.spec.What, p.spec.Name, p.Err(),
				Tail(p.spec.Log), errdefs.ErrUnavailable)
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return fmt.Errorf("%s: waiting for %s: %w", p.spec.What, p.spec.Name, err)
			}
			return fmt.Errorf("%s: %s not ready within %s (%v): %w", p.spec.What, p.spec.Name,
				p.spec.ReadyTimeout, lastErr, errdefs.ErrTimeout)
		case <-tick.C:
		}
	}
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.pid }

// QMP returns the control connection.
func (p *Proc) QMP() *qmp.Client { return p.qmp }

// Done is closed when the process has ended; its socket and pid file are
// removed by then.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns how the process ended ("signal: killed", "exit status 1"),
// nil while it runs.
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Release closes the control connection and leaves the process running,
// for another handle (a daemon started again) to Attach. Done is not
// closed by it for a child of this process.
func (p *Proc) Release() {
	p.releaseOnce.Do(func() { close(p.released) })
	if p.qmp != nil {
		p.qmp.Close()
	}
}

// Stop ends the emulator: quit over its socket, then SIGTERM after
// StopGrace, then SIGKILL after another, and waits for the end (bounded by
// ctx). Its files are removed. Stopping one that ended is not an error.
func (p *Proc) Stop(ctx context.Context) error {
	defer p.spec.Remove(true)
	if err := Stop(ctx, p.qmp, p.pid, p.done, p.spec.StopGrace); err != nil {
		return fmt.Errorf("%s: stop (pid %d): %w", p.spec.What, p.pid, err)
	}
	return nil
}

// kill ends an emulator that failed to start and waits for it.
func (p *Proc) kill() {
	p.Release()
	Signal(p.pid, p.done, syscall.SIGKILL)
	<-p.done
	p.spec.Remove(true)
}

// exited records the end of the process, removes its socket and pid file,
// and closes Done.
func (p *Proc) exited(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	p.spec.Remove(false)
	close(p.done)
}

// Wrap prefixes a failure of what with the emulator's name; nil stays nil.
func (p *Proc) Wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", p.spec.What, what, err)
}
