package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// killWait bounds the wait for a process to go after SIGKILL (one stuck in
// an uninterruptible sleep does not go).
const killWait = 5 * time.Second

// Proc is a daemon process that a Manager started or adopted.
type Proc struct {
	m       *Manager
	name    string
	rec     pidRecord
	adopted bool

	child *os.Process // a child's handle (signals go through its pidfd)
	pidfd *os.File    // an adopted process's pidfd

	stopping atomic.Bool // Stop was called
	done     chan struct{}
	once     sync.Once
	exitErr  error
}

// newProc returns the Proc of rec.
func newProc(m *Manager, name string, rec pidRecord, adopted bool) *Proc {
	return &Proc{m: m, name: name, rec: rec, adopted: adopted, done: make(chan struct{})}
}

// Name returns the daemon's name.
func (p *Proc) Name() string { return p.name }

// Pid returns the process id.
func (p *Proc) Pid() int { return p.rec.Pid }

// Adopted reports whether the process was adopted rather than started by
// this Manager.
func (p *Proc) Adopted() bool { return p.adopted }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitErr returns why the process exited once Done is closed (nil before):
// nil for a zero exit status or an exit that Stop asked for, else an error
// wrapping errdefs.ErrUnavailable. An adopted process is not a child, so its
// status is unknown: its exits are errors unless Stop asked for them.
func (p *Proc) ExitErr() error {
	select {
	case <-p.done:
		return p.exitErr
	default:
		return nil
	}
}

// Signal sends sig to the process. It fails with errdefs.ErrNotFound once
// the process has exited.
func (p *Proc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return fmt.Errorf("process %s: pid %d has exited: %w", p.name, p.rec.Pid, errdefs.ErrNotFound)
	default:
	}
	var err error
	if p.child != nil {
		err = p.child.Signal(sig)
	} else {
		err = pidfdSignal(p.pidfd, sig)
	}
	if err != nil {
		return fmt.Errorf("process %s: pid %d: signal %v: %v: %w", p.name, p.rec.Pid, sig, err, errdefs.ErrNotFound)
	}
	return nil
}

// Stop sends SIGTERM, waits for the exit until the Manager's grace period
// or ctx ends, then sends SIGKILL. It returns nil once the process has
// exited and its pid file is removed, or ctx's error or errdefs.ErrTimeout
// if it survived SIGKILL (its pid file is then kept).
func (p *Proc) Stop(ctx context.Context) error {
	p.stopping.Store(true)
	if p.m.grace > 0 {
		_ = p.Signal(syscall.SIGTERM)
		t := time.NewTimer(p.m.grace)
		defer t.Stop()
		select {
		case <-p.done:
			return nil
		case <-t.C:
		case <-ctx.Done():
		}
	}
	_ = p.Signal(syscall.SIGKILL)
	t := time.NewTimer(killWait)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("process %s: pid %d: %w", p.name, p.rec.Pid, err)
		}
		return fmt.Errorf("process %s: pid %d survived SIGKILL for %v: %w", p.name, p.rec.Pid, killWait, errdefs.ErrTimeout)
	}
}

// exited records why the process ended, removes its pid file, and closes
// Done.
func (p *Proc) exited(err error) {
	p.once.Do(func() {
		if p.stopping.Load() {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("process %s: pid %d: %v: %w", p.name, p.rec.Pid, err, errdefs.ErrUnavailable)
		}
		p.exitErr = err
		removePidFileIf(p.m.PidFile(p.name), p.rec)
		close(p.done)
	})
}

// waitChild waits for a child of this process.
func (p *Proc) waitChild(cmd *exec.Cmd) {
	p.exited(cmd.Wait())
}

// waitPidfd waits for an adopted process through its pidfd, which the Go
// runtime's poller reports readable when the process exits.
func (p *Proc) waitPidfd() {
	err := waitReadable(p.pidfd)
	_ = p.pidfd.Close()
	if err == nil {
		err = fmt.Errorf("exited (status unknown: not a child)")
	}
	p.exited(err)
}
