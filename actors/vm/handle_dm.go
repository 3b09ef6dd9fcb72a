package vm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// kindDMExited is the kind of the internal operation that handles a
// device model that ended by itself.
const kindDMExited = "VM.device_model_exited"

// dmSlot holds the device model of the VM's domain. Every incarnation of
// the VM actor shares it (Props makes it once), so that one restarted by
// its supervisor keeps the running device model. The operations set and
// take it from their goroutines; the actor reads it to tell a device model
// that died from one a teardown stopped.
type dmSlot struct {
	mu    sync.Mutex
	domid hypervisor.DomID
	model devicemodel.Model
}

// set makes m the device model of domid.
func (s *dmSlot) set(domid hypervisor.DomID, m devicemodel.Model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.domid, s.model = domid, m
}

// get returns the device model of domid, nil if none.
func (s *dmSlot) get(domid hypervisor.DomID) devicemodel.Model {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model == nil || s.domid != domid {
		return nil
	}
	return s.model
}

// take removes and returns the device model of domid, nil if none.
func (s *dmSlot) take(domid hypervisor.DomID) devicemodel.Model {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model == nil || s.domid != domid {
		return nil
	}
	m := s.model
	s.model = nil
	return m
}

// is reports whether m is the device model of domid.
func (s *dmSlot) is(domid hypervisor.DomID, m devicemodel.Model) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.model == m && s.domid == domid
}

// release drops the handle of the device model, which keeps running for
// the VM actor that adopts the domain next.
func (s *dmSlot) release() {
	s.mu.Lock()
	m := s.model
	s.model = nil
	s.mu.Unlock()
	if m != nil {
		m.Release()
	}
}

// dmExited tells the actor that the device model of domid ended.
type dmExited struct {
	domid hypervisor.DomID
	model devicemodel.Model
}

// dmExitedOp is the internal command that treats the end of the device
// model of domid as a crash of the domain.
type dmExitedOp struct {
	domid hypervisor.DomID
	why   error
}

// needsDM reports whether the VM's domains get a device model: HVM ones,
// when the config has a launcher.
func (r *runner) needsDM() bool {
	return r.cfg.DeviceModels != nil && r.cfg.Spec.Type == hypervisor.DomainTypeHVM
}

// startDM starts the device model of domid, stopped when paused (the
// domain stays paused). The teardown of domid stops it, also after a
// failure here.
func (r *runner) startDM(ctx context.Context, domid hypervisor.DomID, paused bool) error {
	defer observeAtom(atomDeviceModel, time.Now())
	if !r.needsDM() {
		return nil
	}
	uuid := r.cfg.Spec.UUID
	m, err := r.cfg.DeviceModels.Start(ctx, domid, uuid)
	if err != nil {
		return fmt.Errorf("vm %s: start the device model of domain %d: %w", uuid, domid, err)
	}
	r.watchDM(domid, m)
	if paused {
		if err := m.Pause(ctx); err != nil {
			return fmt.Errorf("vm %s: pause the device model of domain %d: %w", uuid, domid, err)
		}
	}
	return nil
}

// adoptDM takes over the running device model of the adopted domain
// domid, unless this VM's slot holds it already (an actor restarted by its
// supervisor).
func (r *runner) adoptDM(ctx context.Context, domid hypervisor.DomID) error {
	if !r.needsDM() {
		return nil
	}
	if m := r.cfg.dms.get(domid); m != nil {
		select {
		case <-m.Done():
		default:
			return nil
		}
	}
	m, err := r.cfg.DeviceModels.Adopt(ctx, domid, r.cfg.Spec.UUID)
	if err != nil {
		return err
	}
	r.watchDM(domid, m)
	return nil
}

// watchDM makes m the device model of domid and tells the actor when it
// ends.
func (r *runner) watchDM(domid hypervisor.DomID, m devicemodel.Model) {
	r.cfg.dms.set(domid, m)
	if r.dmDied == nil {
		return
	}
	died := r.dmDied
	go func() {
		<-m.Done()
		died(domid, m)
	}()
}

// stopDM stops the device model of domid, if it has one. It leaves the
// slot first, so that its end is not taken for a crash.
func (r *runner) stopDM(ctx context.Context, domid hypervisor.DomID) error {
	m := r.cfg.dms.take(domid)
	if m == nil && r.needsDM() {
		// A device model this actor holds no handle of: one a previous
		// daemon started for a domain torn down now (a stray, or one gone
		// before its adoption). Adopt verifies it is that domain's.
		if a, err := r.cfg.DeviceModels.Adopt(ctx, domid, r.cfg.Spec.UUID); err == nil {
			m = a
		}
	}
	if m == nil {
		return nil
	}
	if err := m.Stop(ctx); err != nil {
		return fmt.Errorf("vm %s: stop the device model of domain %d: %w", r.cfg.Spec.UUID, domid, err)
	}
	return nil
}

// pauseDM and resumeDM stop and continue the emulation of the VM's domain
// with the domain's pause and unpause.
func (r *runner) pauseDM(ctx context.Context) error {
	if m := r.cfg.dms.get(r.domid); m != nil {
		return m.Pause(ctx)
	}
	return nil
}

func (r *runner) resumeDM(ctx context.Context) error {
	if m := r.cfg.dms.get(r.domid); m != nil {
		return m.Resume(ctx)
	}
	return nil
}

// dmExited treats the end of the device model of m.domid as a crash of
// the domain: shut down with reason crash, then a check applies on_crash.
// LastError says why.
func (r *runner) dmExited(ctx context.Context, m *dmExitedOp) *opDone {
	if !r.hasDomain || r.domid != m.domid {
		return &opDone{hasDomain: r.hasDomain, quiet: true}
	}
	uuid := r.cfg.Spec.UUID
	why := fmt.Errorf("vm %s: device model exited: %v: %w", uuid, m.why, errdefs.ErrUnavailable)
	if err := r.cfg.Hypervisor.Shutdown(ctx, m.domid, hypervisor.ShutdownCrash); err != nil &&
		!errdefs.IsNotFound(err) {
		return &opDone{hasDomain: true, lastErr: why, err: fmt.Errorf("%w (and the crash of domain %d failed: %v)",
			why, m.domid, err)}
	}
	done := r.check(ctx)
	if done.lastErr == nil {
		done.lastErr = why
	}
	return done
}

// handleDMExited queues the crash of the domain whose device model ended
// by itself; one that a teardown stopped, or of an earlier domain, is
// ignored.
func (a *vmActor) handleDMExited(ctx actor.Context, msg *dmExited) {
	if a.st.closing || !a.cfg.dms.is(msg.domid, msg.model) {
		return
	}
	why := msg.model.Err()
	if why == nil {
		why = fmt.Errorf("ended")
	}
	opCtx, cancel := context.WithCancel(context.Background())
	a.st.queue = append(a.st.queue, &operation{kind: kindDMExited, taskID: newTaskID(),
		msg: &dmExitedOp{domid: msg.domid, why: why}, ctx: opCtx, cancel: cancel, internal: true})
	a.runNext(ctx)
}
