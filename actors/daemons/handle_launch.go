package daemons

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// launchOp is a launch in flight.
type launchOp struct {
	done chan struct{} // closed when the goroutine has finished
	proc *process.Proc // the process it started or adopted; set before done is closed
}

// startLaunch adopts or starts the process in a goroutine that reports
// with launched.
func (d *daemon) startLaunch(ctx actor.Context) {
	op := &launchOp{done: make(chan struct{})}
	d.launch = op
	d.setState(StateStarting)
	root, self, runCtx := ctx.ActorSystem().Root, ctx.Self(), d.ctx
	go func() {
		msg := d.runLaunch(runCtx, op)
		close(op.done)
		root.Send(self, msg)
	}()
}

// runLaunch adopts the daemon from its pid file, or starts it, and waits
// until it is ready. It runs in its own goroutine and reads only d.cfg.
func (d *daemon) runLaunch(ctx context.Context, op *launchOp) *launched {
	res := &launched{op: op}
	m, spec := d.cfg.Manager, d.cfg.Spec
	p, err := m.Adopt(spec)
	if err == nil {
		res.adopted = true
	} else if errdefs.IsNotFound(err) {
		p, err = m.Start(ctx, spec)
	}
	if err != nil {
		res.err = err
		return res
	}
	op.proc, res.proc = p, p
	res.err = d.waitReady(ctx, p)
	return res
}

// waitReady calls Ready every ReadyInterval until it succeeds, the process
// exits, ReadyTimeout passes or ctx ends.
func (d *daemon) waitReady(ctx context.Context, p *process.Proc) error {
	if d.cfg.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(d.cfg.ReadyInterval)
	defer tick.Stop()
	for {
		err := d.cfg.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("daemon %s: exited before it was ready: %w", d.cfg.Spec.Name, exitReason(p))
		case <-ctx.Done():
			return fmt.Errorf("daemon %s: not ready after %v: %v: %w", d.cfg.Spec.Name, d.cfg.ReadyTimeout, err, errdefs.ErrTimeout)
		case <-tick.C:
		}
	}
}

// handleLaunched takes the launched process: it runs, or it is stopped
// when it did not become ready.
func (d *daemon) handleLaunched(ctx actor.Context, msg *launched) {
	if msg.op != d.launch {
		return
	}
	d.launch = nil
	if msg.proc == nil {
		d.failed(ctx, msg.err)
		return
	}
	d.proc, d.adopted = msg.proc, msg.adopted
	root, self, p := ctx.ActorSystem().Root, ctx.Self(), msg.proc
	go func() {
		<-p.Done()
		root.Send(self, &exited{proc: p, err: p.ExitErr()})
	}()
	if msg.err != nil {
		d.kill(msg.err)
		return
	}
	d.setState(StateRunning)
	d.scheduleHealth(ctx)
}

// kill stops the current process in a goroutine; its exit is then counted
// as a failure for reason.
func (d *daemon) kill(reason error) {
	if d.killReason == nil {
		d.killReason = reason
	}
	p := d.proc
	go func() { _ = p.Stop(context.Background()) }()
}

// exitReason is why p exited, never nil.
func exitReason(p *process.Proc) error {
	if err := p.ExitErr(); err != nil {
		return err
	}
	return fmt.Errorf("process %s: pid %d exited with status 0: %w", p.Name(), p.Pid(), errdefs.ErrUnavailable)
}
