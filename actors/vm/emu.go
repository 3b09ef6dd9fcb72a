package vm

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// EmuManager is the save/restore helper that suspend and resume run
// instead of calling the hypervisor's Save and Restore in the daemon, as
// xenopsd runs emu-manager (cmd/xenactor-emu-manager is the project's).
// It is driven with the line protocol of hostio/emu, in its own process
// group, and every step is bounded: a helper that exits without a
// result, makes no progress within StepTimeout, or prints what is not the
// protocol fails the operation at once, and its process group is killed
// and reaped.
type EmuManager struct {
	// Path is the helper's executable.
	Path string
	// Hypervisor is the hvremote socket the helper reaches the hypervisor
	// on (sim.HypervisorSocket of the host).
	Hypervisor string
	// StepTimeout bounds each wait for a message of the helper (a line
	// reporting more progress restarts it) and for its exit after its
	// result; 0 means
	// emu.DefaultStepTimeout. The wait for the guest to suspend is
	// AckTimeout and SuspendTimeout, as without a helper.
	StepTimeout time.Duration
	// AbortGrace is how long a helper has to exit after abort (a failure
	// or a cancel) before its process group is killed; 0 means
	// emu.DefaultAbortGrace.
	AbortGrace time.Duration
}

// startHelper starts the helper in mode for domid with the image f.
func (r *runner) startHelper(mode emu.Mode, domid hypervisor.DomID, f *os.File) (*emu.Session, error) {
	em := r.cfg.EmuManager
	if r.cfg.Spec.Type == hypervisor.DomainTypeHVM {
		mode = map[emu.Mode]emu.Mode{emu.ModeSave: emu.ModeHVMSave, emu.ModeRestore: emu.ModeHVMRestore}[mode]
	}
	s, err := emu.Start(emu.Config{Path: em.Path, Image: f,
		Args:        emu.Args{Mode: mode, DomID: domid, Hypervisor: em.Hypervisor, VGPU: len(r.cfg.Spec.VGPUs) > 0},
		StepTimeout: em.StepTimeout, AbortGrace: em.AbortGrace, OnInfo: r.helperInfo})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// helperInfo turns the helper's progress into the task's.
func (r *runner) helperInfo(m emu.Message) {
	if p, ok := emu.ProgressOf(m); ok && r.root != nil && r.cfg.Tasks != nil && r.taskID != "" {
		r.root.Send(r.cfg.Tasks, &tasks.UpdateProgress{ID: r.taskID, Progress: p})
	}
}

// expect receives the helper's next message and requires it of kind: an
// error: line is the helper's failure, another message a protocol error.
func expect(ctx context.Context, s *emu.Session, kind emu.Kind) (emu.Message, error) {
	m, err := s.Receive(ctx)
	switch {
	case err != nil:
		return m, err
	case m.Kind == emu.KindError:
		return m, fmt.Errorf("emu-manager failed: %s: %w", m.Arg, errdefs.ErrUnavailable)
	case m.Kind != kind:
		return m, fmt.Errorf("emu-manager printed %q, expected %s: %w", m.String(), kind, errdefs.ErrInvalid)
	}
	return m, nil
}

// suspendWithHelper runs the helper's save: it prints suspend:, the guest
// is asked and its domain shuts down for suspend (suspendGuest), the
// helper is told done, saves into a temporary file, prints prepare:vgpu
// when the VM has vGPUs (the toolstack appends the emulators' states and
// answers done: savePrepared) and result:, and the file is renamed to
// path. It returns nil then. A failure before
// the guest suspended leaves the VM Running; after, Shutdown with
// LastError, as a failed in-process save does. The temporary file is
// removed, and the helper is gone, whatever happens.
func (r *runner) suspendWithHelper(ctx context.Context, evs <-chan struct{}, path string) (done *opDone) {
	uuid := r.cfg.Spec.UUID
	fail := func(err error) *opDone { return &opDone{hasDomain: true, err: err} }
	// failed is a failure once the guest suspended.
	failed := func(err error) *opDone { return r.leftSuspended(ctx, fmt.Errorf("vm %s: suspend: %w", uuid, err)) }
	f, err := r.createImage(path)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if done != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	s, err := r.startHelper(emu.ModeSave, r.domid, f)
	if err != nil {
		return fail(fmt.Errorf("vm %s: suspend: %w", uuid, err))
	}
	defer s.Close() // before the image is removed
	if _, err := expect(ctx, s, emu.KindSuspend); err != nil {
		return fail(fmt.Errorf("vm %s: suspend: %w (the guest was not asked)", uuid, err))
	}
	if done := r.suspendGuest(ctx, evs); done != nil {
		return done
	}
	if err := s.Send(emu.CmdDone); err != nil {
		return failed(err)
	}
	if err := r.savePrepared(ctx, s, f); err != nil {
		return failed(err)
	}
	if err := s.Wait(ctx); err != nil {
		return failed(err)
	}
	if err := r.placeImage(ctx, f, path); err != nil {
		return r.leftSuspended(ctx, err)
	}
	return nil
}

// savePrepared answers the helper's prepare:<emu> messages after done until
// its result: prepare:xenguest needs nothing; prepare:vgpu has the vGPU
// emulators' states appended to the image f, at the offset the helper
// shares, after xenguest's part, as the daemon's own save writes them.
// A VM with vGPUs whose helper did not ask for them is a protocol error:
// the image would lack their state.
func (r *runner) savePrepared(ctx context.Context, s *emu.Session, f *os.File) error {
	vgpus := len(r.cfg.Spec.VGPUs) > 0
	saved := false
	for {
		m, err := s.Receive(ctx)
		switch {
		case err != nil:
			return err
		case m.Kind == emu.KindError:
			return fmt.Errorf("emu-manager failed: %s: %w", m.Arg, errdefs.ErrUnavailable)
		case m.Kind == emu.KindResult && vgpus && !saved:
			return fmt.Errorf("emu-manager printed %q without prepare:%s: the vGPUs' state is not in the image: %w",
				m.String(), emu.EmuVGPU, errdefs.ErrInvalid)
		case m.Kind == emu.KindResult:
			return nil
		case m.Kind == emu.KindPrepare && m.Arg == emu.EmuXenguest:
		case m.Kind == emu.KindPrepare && m.Arg == emu.EmuVGPU && vgpus && !saved:
			w := bufio.NewWriter(f)
			err := r.saveEmulators(ctx, w)
			if err == nil {
				if err = w.Flush(); err != nil {
					err = fileError("image", f.Name(), err)
				}
			}
			if err != nil {
				return fmt.Errorf("prepare:%s: %w", emu.EmuVGPU, err)
			}
			saved = true
		case m.Kind == emu.KindPrepare && m.Arg == emu.EmuVGPU:
			return fmt.Errorf("emu-manager printed %q, but the VM has no vGPU or its state is saved: %w", m.String(),
				errdefs.ErrInvalid)
		default:
			return fmt.Errorf("emu-manager printed %q, expected prepare: or result: %w", m.String(), errdefs.ErrInvalid)
		}
		if err := s.Send(emu.CmdDone); err != nil {
			return err
		}
	}
}

// restoreWithHelper runs the helper's restore of f into domid: it is told
// restore:xenguest and prints xenguest's result, the frames and ports the
// bring-up introduces. When the VM has vGPUs, the emulators' states that
// follow xenguest's part are read from f, where the helper left the
// offset, for startVGPUs, and the helper is told restore:vgpu and prints
// result:vgpu. The helper is gone when it returns.
func (r *runner) restoreWithHelper(ctx context.Context, domid hypervisor.DomID, f *os.File) (hypervisor.BuildResult, error) {
	s, err := r.startHelper(emu.ModeRestore, domid, f)
	if err != nil {
		return hypervisor.BuildResult{}, err
	}
	defer s.Close()
	if err := s.Send(emu.CmdRestorePrefix + emu.EmuXenguest); err != nil {
		return hypervisor.BuildResult{}, err
	}
	m, err := expect(ctx, s, emu.KindResult)
	if err != nil {
		return hypervisor.BuildResult{}, err
	}
	res, err := emu.ParseXenguestResult(m.Arg)
	if err != nil {
		return hypervisor.BuildResult{}, fmt.Errorf("emu-manager: %w", err)
	}
	if len(r.cfg.Spec.VGPUs) > 0 {
		if err := r.readEmulatorStates(bufio.NewReaderSize(f, imageBufferBytes)); err != nil {
			return hypervisor.BuildResult{}, fmt.Errorf("after xenguest's part: %w", err)
		}
		if err := s.Send(emu.CmdRestorePrefix + emu.EmuVGPU); err != nil {
			return hypervisor.BuildResult{}, err
		}
		m, err := expect(ctx, s, emu.KindResult)
		if err != nil {
			return hypervisor.BuildResult{}, err
		}
		if m.Arg != emu.EmuVGPU {
			return hypervisor.BuildResult{}, fmt.Errorf("emu-manager printed %q, expected result:%s: %w", m.String(),
				emu.EmuVGPU, errdefs.ErrInvalid)
		}
	}
	if err := s.Wait(ctx); err != nil {
		return hypervisor.BuildResult{}, err
	}
	return res, nil
}
