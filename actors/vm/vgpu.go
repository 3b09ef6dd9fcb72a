package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// emulatorDEMU names DEMU's records in a suspend image.
const emulatorDEMU = "demu"

// vgpuSlot holds the vGPU emulators (DEMU) of the VM's domain by devid.
// Like dmSlot, every incarnation of the VM actor shares it.
type vgpuSlot struct {
	mu    sync.Mutex
	domid hypervisor.DomID
	emus  map[int]vgpu.Emulator
}

// set makes e the emulator of vGPU devid of domid; the emulators of
// another domain are forgotten.
func (s *vgpuSlot) set(domid hypervisor.DomID, devid int, e vgpu.Emulator) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emus == nil || s.domid != domid {
		s.domid, s.emus = domid, make(map[int]vgpu.Emulator)
	}
	s.emus[devid] = e
}

// get returns the emulator of vGPU devid of domid, nil if none.
func (s *vgpuSlot) get(domid hypervisor.DomID, devid int) vgpu.Emulator {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.domid != domid {
		return nil
	}
	return s.emus[devid]
}

// take removes and returns the emulators of domid by devid.
func (s *vgpuSlot) take(domid hypervisor.DomID) map[int]vgpu.Emulator {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.domid != domid {
		return nil
	}
	emus := s.emus
	s.emus = nil
	return emus
}

// is reports whether e is the emulator of vGPU devid of domid.
func (s *vgpuSlot) is(domid hypervisor.DomID, devid int, e vgpu.Emulator) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.domid == domid && s.emus[devid] == e
}

// release drops the handles of the emulators, which keep running for the
// VM actor that adopts the domain next.
func (s *vgpuSlot) release() {
	s.mu.Lock()
	emus := s.emus
	s.emus = nil
	s.mu.Unlock()
	for _, e := range emus {
		e.Release()
	}
}

// vgpuExited tells the actor that the emulator of vGPU devid of domid
// ended.
type vgpuExited struct {
	domid hypervisor.DomID
	devid int
	emu   vgpu.Emulator
}

// vgpuDevice is the vgpu.Device of the VM's vGPU g in domid.
func (r *runner) vgpuDevice(domid hypervisor.DomID, g VGPU) vgpu.Device {
	return vgpu.Device{DomID: domid, VCPUs: r.cfg.Spec.VCPUs, DevID: g.DevID, Type: g.Type,
		GPU: g.PhysicalAddress, UUID: g.UUID}
}

// vgpus returns the VM's vGPUs by devid.
func (r *runner) vgpus() []VGPU {
	return slices.SortedFunc(slices.Values(r.cfg.Spec.VGPUs), func(a, b VGPU) int { return a.DevID - b.DevID })
}

// startVGPUs starts the emulator of each of the VM's vGPUs in domid, before
// the device model as xenopsd does, each from its saved state after a
// restore (restoreImage). The teardown of domid stops them, also after a
// failure here.
func (r *runner) startVGPUs(ctx context.Context, domid hypervisor.DomID) error {
	spec := r.cfg.Spec
	if len(spec.VGPUs) == 0 {
		return nil
	}
	if r.cfg.VGPUs == nil {
		return passthroughMissing(spec, false)
	}
	if spec.Type != hypervisor.DomainTypeHVM {
		return fmt.Errorf("vm %s: vGPUs need an HVM domain, not %s: %w", spec.UUID, spec.Type, errdefs.ErrInvalid)
	}
	for _, g := range r.vgpus() {
		var state []byte
		if r.vgpuStates != nil {
			var ok bool
			if state, ok = r.vgpuStates[g.DevID]; !ok {
				return fmt.Errorf("vm %s: resume: the image has no state of vGPU %d: %w", spec.UUID, g.DevID,
					errdefs.ErrInvalid)
			}
		}
		e, err := r.cfg.VGPUs.Start(ctx, r.vgpuDevice(domid, g), state)
		if err != nil {
			return fmt.Errorf("vm %s: start the emulator of vGPU %d of domain %d: %w", spec.UUID, g.DevID, domid, err)
		}
		r.watchVGPU(domid, g.DevID, e)
	}
	return nil
}

// adoptVGPUs takes over the running emulators of the adopted domain domid,
// but those this VM's slot holds already (an actor restarted by its
// supervisor). One that cannot be adopted does not keep the others from
// being adopted.
func (r *runner) adoptVGPUs(ctx context.Context, domid hypervisor.DomID) error {
	if r.cfg.VGPUs == nil {
		return nil
	}
	var errs []error
	for _, g := range r.vgpus() {
		if e := r.cfg.vgpus.get(domid, g.DevID); e != nil {
			select {
			case <-e.Done():
			default:
				continue
			}
		}
		e, err := r.cfg.VGPUs.Adopt(ctx, r.vgpuDevice(domid, g))
		if err != nil {
			errs = append(errs, fmt.Errorf("vGPU %d emulator (DEMU): %w", g.DevID, err))
			continue
		}
		r.watchVGPU(domid, g.DevID, e)
	}
	return errors.Join(errs...)
}

// watchVGPU makes e the emulator of vGPU devid of domid and tells the
// actor when it ends.
func (r *runner) watchVGPU(domid hypervisor.DomID, devid int, e vgpu.Emulator) {
	r.cfg.vgpus.set(domid, devid, e)
	if r.vgpuDied == nil {
		return
	}
	died := r.vgpuDied
	go func() {
		<-e.Done()
		died(domid, devid, e)
	}()
}

// stopVGPUs stops the emulators of domid. They leave the slot first, so
// that their end is not taken for a crash.
func (r *runner) stopVGPUs(ctx context.Context, domid hypervisor.DomID) error {
	emus := r.cfg.vgpus.take(domid)
	if r.cfg.VGPUs != nil {
		// Emulators this actor holds no handle of: ones a previous daemon
		// started for a domain torn down now. Adopt verifies them.
		for _, g := range r.vgpus() {
			if emus[g.DevID] != nil {
				continue
			}
			if e, err := r.cfg.VGPUs.Adopt(ctx, r.vgpuDevice(domid, g)); err == nil {
				if emus == nil {
					emus = make(map[int]vgpu.Emulator)
				}
				emus[g.DevID] = e
			}
		}
	}
	var errs []error
	for _, devid := range slices.Sorted(maps.Keys(emus)) {
		if err := emus[devid].Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("vm %s: stop the emulator of vGPU %d of domain %d: %w", r.cfg.Spec.UUID,
				devid, domid, err))
		}
	}
	return errors.Join(errs...)
}

// saveEmulators asks the emulator of each vGPU of the suspended domain for
// its state and writes it to the suspend image w, after the domain's
// memory: one RecordEmulatorState record each.
func (r *runner) saveEmulators(ctx context.Context, w io.Writer) error {
	uuid := r.cfg.Spec.UUID
	for _, g := range r.vgpus() {
		e := r.cfg.vgpus.get(r.domid, g.DevID)
		if e == nil {
			if r.cfg.VGPUs == nil {
				continue
			}
			return fmt.Errorf("vm %s: suspend: vGPU %d of domain %d has no emulator: %w", uuid, g.DevID, r.domid,
				errdefs.ErrUnavailable)
		}
		state, err := e.Save(ctx)
		if err != nil {
			return fmt.Errorf("vm %s: suspend: save vGPU %d of domain %d: %w", uuid, g.DevID, r.domid, err)
		}
		body, err := hypervisor.EmulatorState{Emulator: emulatorDEMU, Instance: uint32(g.DevID), Data: state}.MarshalBinary()
		if err == nil {
			err = hypervisor.WriteRecord(w, hypervisor.RecordEmulatorState, body)
		}
		if err != nil {
			return fmt.Errorf("vm %s: suspend: vGPU %d: %w", uuid, g.DevID, err)
		}
	}
	return nil
}

// restoreImage restores the image read from f into domid and reads the
// emulators' states that follow it, for startVGPUs.
func (r *runner) restoreImage(ctx context.Context, domid hypervisor.DomID, f io.Reader) (hypervisor.BuildResult, error) {
	br := bufio.NewReaderSize(f, imageBufferBytes)
	res, err := r.cfg.Hypervisor.Restore(ctx, domid, hypervisor.ImageReader(br))
	if err != nil {
		return res, err
	}
	return res, r.readEmulatorStates(br)
}

// readEmulatorStates reads the emulators' state records that follow the
// domain's image in br, up to its end, for startVGPUs.
func (r *runner) readEmulatorStates(br *bufio.Reader) error {
	r.vgpuStates = make(map[int][]byte)
	for {
		typ, body, err := hypervisor.ReadRecord(br)
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("emulator records: %w", err)
		case typ != hypervisor.RecordEmulatorState:
			return fmt.Errorf("a %s record after the image's end: %w", typ, errdefs.ErrInvalid)
		}
		var st hypervisor.EmulatorState
		if err := st.UnmarshalBinary(body); err != nil {
			return err
		}
		if st.Emulator != emulatorDEMU {
			return fmt.Errorf("the state of emulator %q, which this toolstack does not run: %w", st.Emulator,
				errdefs.ErrInvalid)
		}
		r.vgpuStates[int(st.Instance)] = st.Data
	}
}

// handleVGPUExited queues the crash of the domain whose vGPU emulator
// ended by itself, as a device model's end does; one that a teardown
// stopped, or of an earlier domain, is ignored.
func (a *vmActor) handleVGPUExited(ctx actor.Context, msg *vgpuExited) {
	if a.st.closing || !a.cfg.vgpus.is(msg.domid, msg.devid, msg.emu) {
		return
	}
	why := msg.emu.Err()
	if why == nil {
		why = fmt.Errorf("ended")
	}
	opCtx, cancel := context.WithCancel(context.Background())
	a.st.queue = append(a.st.queue, &operation{kind: kindDMExited, taskID: newTaskID(),
		msg: &dmExitedOp{domid: msg.domid, why: fmt.Errorf("vGPU %d emulator (DEMU): %w", msg.devid, why)},
		ctx: opCtx, cancel: cancel, internal: true})
	a.runNext(ctx)
}
