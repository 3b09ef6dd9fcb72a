package vm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// deviceName is the spawn name of a device actor under its VM actor:
// "vbd/<devid>" or "vif/<devid>".
func deviceName(class string, devid int) string { return class + "/" + strconv.Itoa(devid) }

// deviceWork asks a device actor to plug (or unplug) dev; the reply is a
// deviceDone once the work ended. A device actor runs its works one at a
// time, in order, so an unplug never races a plug that is still ending.
type deviceWork struct {
	ctx  context.Context
	dev  device
	plug bool
}

// deviceDone answers deviceWork.
type deviceDone struct{ err error }

// workEnded is the self-message of a device actor's work goroutine. The
// goroutine answers the waiting operation itself, right after: the answer
// arrives even when the actor stopped or restarted meanwhile (its VM actor
// restarted, say), and the operation's next work still queues behind the
// end of this one.
type workEnded struct {
	owner    *deviceActor
	panicked any
	err      error
}

// deviceActor is vbd/<devid> or vif/<devid>: it does its device's XenBus
// handshake and hotplug. A panic in its work is answered to the waiting
// operation as an errdefs.ErrUnavailable error, then re-raised in the
// actor so that its supervisor restarts this device actor only.
type deviceActor struct {
	w       worker
	queue   []queuedWork
	running bool
	// closed is the error that answers every work once this incarnation
	// is stopping or restarting: protoactor still delivers the messages
	// that arrive meanwhile, and one queued then would never be answered.
	closed error
}

type queuedWork struct {
	msg   *deviceWork
	reply *actor.PID
}

func deviceProps(cfg *Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &deviceActor{w: worker{cfg: cfg}} })
}

// Receive dispatches on the message type.
func (a *deviceActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *deviceWork:
		if a.closed != nil {
			if ctx.Sender() != nil {
				ctx.Respond(&deviceDone{err: a.closed})
			}
			return
		}
		a.queue = append(a.queue, queuedWork{msg: msg, reply: ctx.Sender()})
		a.next(ctx)
	case *workEnded:
		a.handleWorkEnded(ctx, msg)
	case *actor.Stopping, *actor.Restarting:
		// The queued works are lost with this incarnation: fail them, so
		// that their operations do not wait for the bound.
		a.closed = fmt.Errorf("device actor %s stopped or restarted: %w", ctx.Self().GetId(), errdefs.ErrUnavailable)
		a.failQueued(ctx, a.closed)
	}
}

func (a *deviceActor) next(ctx actor.Context) {
	if a.running || len(a.queue) == 0 {
		return
	}
	q := a.queue[0]
	a.queue = a.queue[1:]
	a.running = true
	self, root, w := ctx.Self(), ctx.ActorSystem().Root, a.w
	name := self.GetId()
	go func() {
		ended := &workEnded{owner: a}
		defer func() {
			if r := recover(); r != nil {
				ended.panicked = r
				ended.err = fmt.Errorf("device actor %s panicked: %v: %w", name, r, errdefs.ErrUnavailable)
			}
			root.Send(self, ended)
			if q.reply != nil {
				root.Send(q.reply, &deviceDone{err: ended.err})
			}
		}()
		if q.msg.plug {
			ended.err = w.plug(q.msg.ctx, q.msg.dev)
		} else {
			ended.err = w.unplug(q.msg.ctx, q.msg.dev)
		}
	}()
}

func (a *deviceActor) handleWorkEnded(ctx actor.Context, msg *workEnded) {
	if msg.owner != a {
		return // the work of an earlier incarnation, answered already
	}
	a.running = false
	if msg.panicked != nil {
		a.failQueued(ctx, msg.err)
		panic(msg.panicked)
	}
	a.next(ctx)
}

// failQueued answers every queued work with err.
func (a *deviceActor) failQueued(ctx actor.Context, err error) {
	for _, q := range a.queue {
		if q.reply != nil {
			ctx.Send(q.reply, &deviceDone{err: err})
		}
	}
	a.queue = nil
}

// orphanedWorkGrace is how long an operation of a stopped or restarted VM
// actor still waits for the answer of one of its device actors.
const orphanedWorkGrace = 5 * time.Second

// onDevice has dev's device actor plug or unplug it and waits for the end
// of the work, even after ctx ended (the work itself honours ctx), so that
// what follows never races it. The wait is bounded in case the actor is
// gone.
func (r *runner) onDevice(ctx context.Context, d device, plug bool) (err error) {
	defer observeDevice(d.Class, plug, time.Now(), &err)
	pid := r.devices[deviceName(d.Class, d.DevID)]
	if pid == nil {
		return fmt.Errorf("vm %s: no actor for %s: %w", r.cfg.Spec.UUID, d, errdefs.ErrNotFound)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		r.cfg.HotplugTimeout+r.cfg.UnplugTimeout+r.cfg.CleanupTimeout)
	defer cancel()
	if r.ended != nil {
		// Once the VM actor stopped or restarted, its device actors are
		// stopped too, and protoactor drops without an answer what reaches
		// one after it stopped. The work itself honours ctx (cancelled
		// with the incarnation) and a running one answers by itself: wait
		// a grace for it only.
		go func() {
			select {
			case <-r.ended:
			case <-wctx.Done():
				return
			}
			t := time.NewTimer(orphanedWorkGrace)
			defer t.Stop()
			select {
			case <-t.C:
				cancel()
			case <-wctx.Done():
			}
		}()
	}
	res, err := request.Do(wctx, r.root, pid, &deviceWork{ctx: ctx, dev: d, plug: plug}, nil)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = fmt.Errorf("no answer from the device actor of a stopped VM actor: %w", errdefs.ErrUnavailable)
		}
		return fmt.Errorf("vm %s: %s: %w", r.cfg.Spec.UUID, d, err)
	}
	done, ok := res.(*deviceDone)
	if !ok {
		return fmt.Errorf("vm %s: %s: unexpected reply %T", r.cfg.Spec.UUID, d, res)
	}
	return done.err
}
