package vm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
)

// domainCreated tells the actor the id of the domain a start created, so
// that StatVM sees it while the start goes on.
type domainCreated struct {
	taskID string
	domid  hypervisor.DomID
}

// opDone reports the end of an operation: err, and whether the VM has a
// domain afterwards.
type opDone struct {
	taskID    string
	hasDomain bool
	result    []byte
	err       error
	// crashed reports a crash that was restarted; crashLoop one that was
	// not, by the crash-loop rule.
	crashed   bool
	crashLoop bool
	// panicked is set when an atom panicked: the VM's state is checked.
	panicked bool
	// spec is the VM's new spec after a hot-plug.
	spec *Spec
	// quiet is set by a check that found nothing to do: nothing is
	// announced, so that the host's events do not echo as every VM's.
	quiet bool
	// power is the power state a check saw, if seen.
	power PowerState
	seen  bool
	// image, when set, is the VM's suspend image afterwards ("" for none).
	image *string
	// lastErr, when set, becomes VMStatus.LastError even for an operation
	// with a task: a state the VM was left in that outlives the task.
	lastErr error
	// migrated is set when the VM moved to another host.
	migrated bool
}

// opCanceled reports that a task's cancel function ran.
type opCanceled struct{ taskID string }

// enqueue answers the command with a new task and queues its operation,
// at the front of the queue when front is set.
func (a *vmActor) enqueue(ctx actor.Context, kind string, msg any) {
	a.enqueueAt(ctx, kind, msg, false)
}

func (a *vmActor) enqueueAt(ctx actor.Context, kind string, msg any, front bool) {
	if a.cfg.Tasks == nil {
		if ctx.Sender() != nil {
			ctx.Respond(&OperationReply{Err: fmt.Errorf("vm %s: %s: no task registry: %w", a.cfg.Spec.UUID, kind,
				errdefs.ErrInvalid)})
		}
		return
	}
	if a.st.closing {
		// The actor stops or restarts: it failed its queue already, and
		// an operation begun now would report to no one (its task would
		// stay pending for ever). Messages still reach an actor while it
		// waits for its children to stop.
		if ctx.Sender() != nil {
			ctx.Respond(&OperationReply{Err: fmt.Errorf("vm %s: %s: the VM's actor is stopping: %w", a.cfg.Spec.UUID,
				kind, errdefs.ErrUnavailable)})
		}
		return
	}
	id := newTaskID()
	opCtx, cancel := context.WithCancel(context.Background())
	op := &operation{kind: kind, taskID: id, msg: msg, ctx: opCtx, cancel: cancel,
		trace: tracing.Extract(ctx.MessageHeader())}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	ctx.Send(a.cfg.Tasks, &tasks.CreateTask{ID: id, Kind: kind, Subject: a.cfg.Spec.UUID, Cancel: func() {
		cancel()
		root.Send(self, &opCanceled{taskID: id})
	}})
	if ctx.Sender() != nil {
		ctx.Respond(&OperationReply{TaskID: id})
	}
	if front {
		a.st.queue = slices.Insert(a.st.queue, 0, op)
	} else {
		a.st.queue = append(a.st.queue, op)
	}
	a.runNext(ctx)
}

// runNext starts the next queued operation unless one is running or the
// actor still waits for the operations of its previous incarnation.
func (a *vmActor) runNext(ctx actor.Context) {
	if a.st.priorWait != nil || a.st.closing {
		return
	}
	for a.st.running == nil && len(a.st.queue) > 0 {
		op := a.st.queue[0]
		a.st.queue = a.st.queue[1:]
		if op.ctx.Err() != nil {
			a.finish(ctx, op, nil, context.Canceled)
			continue
		}
		a.st.running = op
		op.began = time.Now()
		a.launch(ctx, op)
	}
}

// launch runs op's atoms on a goroutine that reports with opDone.
func (a *vmActor) launch(ctx actor.Context, op *operation) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	domid, has := a.st.domid, a.st.hasDomain
	r := &runner{cfg: &a.cfg, taskID: op.taskID, domid: domid, hasDomain: has, devices: a.st.devices, root: root,
		ended:   a.st.ended,
		crashes: slices.Clone(a.st.crashes), image: a.st.suspendImage,
		created: func(id hypervisor.DomID) { root.Send(self, &domainCreated{taskID: op.taskID, domid: id}) },
		gone:    func(id hypervisor.DomID) { root.Send(self, &domainGone{taskID: op.taskID, domid: id}) },
		dmDied: func(id hypervisor.DomID, m devicemodel.Model) {
			root.Send(self, &dmExited{domid: id, model: m})
		},
		vgpuDied: func(id hypervisor.DomID, devid int, e vgpu.Emulator) {
			root.Send(self, &vgpuExited{domid: id, devid: devid, emu: e})
		}}
	octx, span := a.startOpSpan(op)
	a.cfg.Journal.opBegin()
	go func() {
		var done *opDone
		if err := r.journalBegin(octx, op); err != nil {
			done = &opDone{hasDomain: has, err: err}
		} else {
			done = r.runRecovered(octx, op.msg)
			r.journalEnd(octx, done)
		}
		// Counted until its outcome is recorded: a restarted incarnation
		// reads the record only after (see handleStarted).
		a.cfg.Journal.opEnd()
		finishOpSpan(span, done)
		done.taskID = op.taskID
		root.Send(self, done)
		if done.panicked {
			// What the operation left is unknown: look at the domain.
			root.Send(self, &CheckState{Why: "operation panicked"})
		}
	}()
}

func (a *vmActor) handleDomainCreated(ctx actor.Context, msg *domainCreated) {
	if a.st.running == nil || a.st.running.taskID != msg.taskID {
		return
	}
	a.st.domid, a.st.hasDomain = msg.domid, true
	a.st.goneSet, a.st.guestGaveUp = false, false // a new domain
	a.syncGuest(ctx)
	a.announce(ctx)
}

// handleOpDone ends the running operation's task and starts the next one.
func (a *vmActor) handleOpDone(ctx actor.Context, msg *opDone) {
	op := a.st.running
	if op == nil || op.taskID != msg.taskID {
		return // reported to an earlier incarnation
	}
	a.st.running = nil
	a.st.hasDomain = msg.hasDomain
	if msg.image != nil {
		a.st.suspendImage = *msg.image
	}
	if msg.lastErr != nil {
		a.st.lastErr = msg.lastErr
	}
	a.syncGuest(ctx)
	if msg.spec != nil {
		// Only the device lists change: the device actors read the
		// spec's other fields.
		a.cfg.Spec.VBDs, a.cfg.Spec.VIFs = msg.spec.VBDs, msg.spec.VIFs
	}
	if msg.crashed {
		a.st.crashes = append(a.st.crashes, time.Now())
		if n := len(a.st.crashes); n > 2*a.cfg.CrashLoopMax {
			a.st.crashes = slices.Clone(a.st.crashes[n-2*a.cfg.CrashLoopMax:])
		}
	}
	if msg.crashLoop {
		a.st.crashLoop, a.st.crashes = true, nil
	}
	if op.internal && msg.err != nil {
		a.st.lastErr = msg.err
	}
	err := msg.err
	if err != nil && op.ctx.Err() != nil && !errdefs.IsCanceled(err) {
		err = fmt.Errorf("%w: %w", errdefs.ErrCanceled, err)
	}
	a.finish(ctx, op, msg.result, err)
	if msg.migrated && a.cfg.OnMigrated != nil {
		a.cfg.OnMigrated(a.cfg.Spec.UUID)
	}
	// A check announces a power state it sees change (a domain paused
	// or unpaused by someone else) even when it has nothing to do.
	quiet := msg.quiet && msg.seen && a.st.powerSeen && a.st.power == msg.power
	a.st.power, a.st.powerSeen = msg.power, msg.seen
	if !quiet {
		a.announce(ctx)
	}
	a.runNext(ctx)
}

// handleOpCanceled drops a cancelled operation that is still queued; a
// running one sees its context end.
func (a *vmActor) handleOpCanceled(ctx actor.Context, msg *opCanceled) {
	for i, op := range a.st.queue {
		if op.taskID == msg.taskID {
			a.st.queue = slices.Delete(a.st.queue, i, i+1)
			a.finish(ctx, op, nil, context.Canceled)
			return
		}
	}
}

// handleStarted spawns a device actor per device of the spec, subscribes
// to the hypervisor's events and reconciles with the journal's record:
// at once, or once the operations of a previous incarnation ended.
func (a *vmActor) handleStarted(ctx actor.Context) {
	a.startWatcher(ctx)
	a.st.devices = make(map[string]*actor.PID)
	props := deviceProps(&a.cfg)
	for _, d := range devices(a.cfg.Spec, 0) {
		name := deviceName(d.Class, d.DevID)
		pid, err := ctx.SpawnNamed(props, name)
		if err != nil {
			panic(fmt.Errorf("vm %s: spawn %s: %w", a.cfg.Spec.UUID, name, err))
		}
		a.st.devices[name] = pid
	}
	if idle := a.cfg.Journal.opsIdle(); idle != nil {
		// An operation of the previous incarnation still runs: its
		// context is cancelled, but it may yet create a domain or finish
		// setting one up, and record it. The record is read once it ended,
		// so that nothing it made is missed or clobbered.
		token := &priorOpsEnded{}
		a.st.priorWait = token
		self, root, wait := ctx.Self(), ctx.ActorSystem().Root, 2*a.cfg.CleanupTimeout
		go func() {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-idle:
			case <-t.C:
			}
			root.Send(self, token)
		}()
		if a.cfg.onPriorWait != nil {
			a.cfg.onPriorWait()
		}
		return
	}
	a.reconcile(ctx)
}

// priorOpsEnded tells a restarted VM actor that the operations of its
// previous incarnation ended (or that it waited long enough).
type priorOpsEnded struct{}

// handlePriorOpsEnded reconciles with the record once the previous
// incarnation's operations ended, and runs what was queued meanwhile. The
// record may hold a domain, a spec or a suspend image those operations
// changed after this incarnation was made.
func (a *vmActor) handlePriorOpsEnded(ctx actor.Context, msg *priorOpsEnded) {
	if a.st.priorWait != msg {
		return // an earlier incarnation's
	}
	a.st.priorWait = nil
	rec := a.cfg.Journal.Record()
	a.cfg.AdoptDomID = rec.DomID
	a.cfg.Spec.VBDs, a.cfg.Spec.VIFs = rec.Spec.VBDs, rec.Spec.VIFs
	devs := maps.Clone(a.st.devices)
	props := deviceProps(&a.cfg)
	for _, d := range devices(a.cfg.Spec, 0) {
		name := deviceName(d.Class, d.DevID)
		if devs[name] != nil {
			continue
		}
		pid, err := ctx.SpawnNamed(props, name)
		if err != nil {
			panic(fmt.Errorf("vm %s: spawn %s: %w", a.cfg.Spec.UUID, name, err))
		}
		devs[name] = pid
	}
	a.st.devices = devs
	a.reconcile(ctx)
	a.runNext(ctx)
}

// reconcile fails the task of an interrupted command and queues the
// adoption of the record's domain and the destruction of strays.
func (a *vmActor) reconcile(ctx actor.Context) {
	rec := a.cfg.Journal.Record()
	a.st.suspendImage = rec.SuspendImage
	if rec.Op != nil {
		a.failInterrupted(ctx, rec.Op)
	}
	strays := a.cfg.Strays
	if rec.Creating != 0 {
		strays = append(slices.Clone(strays), rec.Creating)
	}
	if a.cfg.AdoptDomID != 0 || len(strays) > 0 || rec.Op != nil {
		a.queueAdopt(ctx, a.cfg.AdoptDomID, strays)
	}
}

// handleStopping fails every queued and running operation.
func (a *vmActor) handleStopping(ctx actor.Context) {
	stopped := fmt.Errorf("VM actor %s stopped or restarted: %w", a.cfg.Spec.UUID, errdefs.ErrUnavailable)
	if op := a.st.running; op != nil {
		a.finish(ctx, op, nil, stopped)
		a.st.running = nil
	}
	for _, op := range a.st.queue {
		a.finish(ctx, op, nil, stopped)
	}
	a.st.queue = nil
}

// finish cancels op's context and ends its task.
func (a *vmActor) finish(ctx actor.Context, op *operation, result []byte, err error) {
	op.cancel()
	observeOperation(a.cfg.Spec.UUID, op, err)
	if op.internal {
		return
	}
	if err == nil {
		ctx.Send(a.cfg.Tasks, &tasks.CompleteTask{ID: op.taskID, Result: result})
		return
	}
	if errors.Is(err, context.Canceled) && !errors.Is(err, errdefs.ErrCanceled) {
		err = fmt.Errorf("%s %s: %w", op.kind, a.cfg.Spec.UUID, errdefs.ErrCanceled)
	}
	ctx.Send(a.cfg.Tasks, &tasks.FailTask{ID: op.taskID, Err: err})
}

// announce tells the update stream the VM changed.
func (a *vmActor) announce(ctx actor.Context) {
	if a.cfg.Events != nil {
		ctx.Send(a.cfg.Events, &events.Changed{ID: ObjectID(a.cfg.Spec.UUID)})
	}
}

func newTaskID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "vmop-" + hex.EncodeToString(b[:])
}
