package vm

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// runner runs one operation's atoms on its own goroutine. It sees the
// actor's state only as it was when the operation started.
type runner struct {
	cfg       *Config
	taskID    string
	domid     hypervisor.DomID
	hasDomain bool
	created   func(hypervisor.DomID) // reports the domain a start created
	made      hypervisor.DomID       // the domain this operation created, if any
	gone      func(hypervisor.DomID) // reports the domain a teardown begins to remove
	// dmDied reports the end of a device model the operation started or
	// adopted.
	dmDied  func(hypervisor.DomID, devicemodel.Model)
	devices map[string]*actor.PID // the device actors by deviceName
	// ended is closed when the incarnation that launched the operation
	// stopped or restarted, and its device actors with it.
	ended   <-chan struct{}
	root    *actor.RootContext
	crashes []time.Time // the restarted crashes, for the crash-loop rule
	image   string      // the suspend image of a Suspended VM

	// vgpuDied reports the end of a vGPU emulator the operation started
	// or adopted.
	vgpuDied func(hypervisor.DomID, int, vgpu.Emulator)
	// vgpuStates are the vGPU emulators' states a resume read from the
	// image (restoreImage), by devid; nil for a fresh start.
	vgpuStates map[int][]byte
}

// runRecovered runs the command and turns a panic of one of its atoms (a
// hypervisor or hotplug binding, say) into the operation's error, so that
// it fails this operation only; the VM keeps the domain it may have.
func (r *runner) runRecovered(ctx context.Context, msg any) (done *opDone) {
	defer func() {
		if p := recover(); p != nil {
			done = &opDone{hasDomain: r.hasDomain || r.made != 0, panicked: true,
				err: fmt.Errorf("vm %s: the operation panicked: %v: %w", r.cfg.Spec.UUID, p, errdefs.ErrUnavailable)}
		}
	}()
	return r.run(ctx, msg)
}

// run dispatches on the command.
func (r *runner) run(ctx context.Context, msg any) *opDone {
	switch m := msg.(type) {
	case *StartVM:
		return r.start(ctx, m)
	case *ShutdownVM:
		return r.shutdown(ctx, m)
	case *RebootVM:
		return r.reboot(ctx, m)
	case *SetMemoryTarget:
		return r.setMemoryTarget(ctx, m)
	case *SetVCPUs:
		return r.setVCPUs(ctx, m)
	case *hotplugOp:
		return r.hotplug(ctx, m)
	case *checkOp:
		return r.check(ctx)
	case *adoptOp:
		return r.adopt(ctx, m)
	case *dmExitedOp:
		return r.dmExited(ctx, m)
	case *SuspendVM:
		return r.suspend(ctx, m)
	case *ResumeVM:
		return r.resume(ctx, m)
	case *MigrateVM:
		return r.migrate(ctx, m)
	case *ReceiveVM:
		return r.receive(ctx, m)
	case *DestroyVM:
		if !r.hasDomain && r.image != "" {
			return r.destroyImage()
		}
		if err := r.needDomain("destroy"); err != nil {
			return &opDone{err: err}
		}
		return r.destroy(ctx)
	case *PauseVM:
		return r.simple("pause", func() error {
			if err := r.cfg.Hypervisor.Pause(ctx, r.domid); err != nil {
				return err
			}
			return r.pauseDM(ctx)
		})
	case *UnpauseVM:
		return r.simple("unpause", func() error {
			if err := r.resumeDM(ctx); err != nil {
				return err
			}
			return r.cfg.Hypervisor.Unpause(ctx, r.domid)
		})
	}
	return &opDone{hasDomain: r.hasDomain, err: fmt.Errorf("vm: unknown command %T: %w", msg, errdefs.ErrInvalid)}
}

func (r *runner) simple(what string, f func() error) *opDone {
	if err := r.needDomain(what); err != nil {
		return &opDone{err: err}
	}
	if err := f(); err != nil {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: %s domain %d: %w", r.cfg.Spec.UUID, what, r.domid, err)}
	}
	return &opDone{hasDomain: true}
}

func (r *runner) needDomain(what string) error {
	switch {
	case !r.hasDomain && r.image != "":
		return fmt.Errorf("vm %s: %s: the VM is Suspended: resume it or destroy it: %w", r.cfg.Spec.UUID, what,
			errdefs.ErrInvalid)
	case !r.hasDomain:
		return fmt.Errorf("vm %s: %s: the VM is halted: %w", r.cfg.Spec.UUID, what, errdefs.ErrInvalid)
	}
	return nil
}

// homePath is /local/domain/<domid>; vmPath /vm/<uuid>.
func homePath(domid hypervisor.DomID) string { return xenstore.DomainPath(uint32(domid)) }
func vmPath(uuid string) string              { return "/vm/" + uuid }

// writeHome writes the domain's home and /vm/<uuid> as the reference's
// domain creation does: the home dom0's and readable by the guest, with
// guest-writable device, control, data, attr, drivers and feature
// directories, then the domain's id, memory, store ring, console ring and
// the control/platform-feature keys.
func writeHome(ctx context.Context, tx *xenstore.Tx, domid hypervisor.DomID, spec Spec, res hypervisor.BuildResult) error {
	d := uint32(domid)
	guestRead := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: d, Access: xenstore.AccessRead}}
	home := homePath(domid)
	if err := tx.MkdirPerms(ctx, home, guestRead); err != nil {
		return err
	}
	for _, sub := range []string{"device", "control", "data", "attr", "drivers", "feature"} {
		if err := tx.MkdirPerms(ctx, home+"/"+sub, []xenstore.Perm{{Domid: d, Access: xenstore.AccessNone}}); err != nil {
			return err
		}
	}
	kib := strconv.FormatUint(spec.MemoryKiB, 10)
	if err := tx.WriteKeys(ctx, home, [][2]string{{"domid", domid.String()}, {"name", spec.Name},
		{"vm", vmPath(spec.UUID)}, {"memory/target", kib}, {"memory/static-max", kib},
		{"store/port", strconv.FormatUint(uint64(res.StorePort), 10)},
		{"store/ring-ref", strconv.FormatUint(res.StoreGFN, 10)},
		// The console daemon serves the ring; limit is the bytes it may buffer.
		{"console/ring-ref", strconv.FormatUint(res.ConsoleGFN, 10)},
		{"console/port", strconv.FormatUint(uint64(res.ConsolePort), 10)},
		{"console/limit", "1048576"}, {"console/type", "xenconsoled"},
		// What the toolstack supports, as libxl says it: Linux reads
		// them (suspend with all vCPUs up; XS_RESET_WATCHES on resume).
		{"control/platform-feature-multiprocessor-suspend", "1"},
		{"control/platform-feature-xs_reset_watches", "1"},
		// New for every domain: a guest agent that sees it change knows it
		// was resumed or migrated.
		{"unique-domain-id", newUniqueDomainID()}}); err != nil {
		return err
	}
	if err := tx.MkdirPerms(ctx, home+"/cpu", guestRead); err != nil {
		return err
	}
	if err := writeVCPUs(ctx, tx, domid, spec.VCPUs, spec.VCPUs); err != nil {
		return err
	}
	vm := vmPath(spec.UUID)
	if err := tx.MkdirPerms(ctx, vm, guestRead); err != nil {
		return err
	}
	return tx.WriteKeys(ctx, vm, [][2]string{{"uuid", spec.UUID}, {"name", spec.Name}})
}

// newUniqueDomainID returns a random (version 4) uuid.
func newUniqueDomainID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	return hypervisor.FormatUUID(u)
}

// rmIfExists removes path; a missing path is not an error.
func rmIfExists(ctx context.Context, xs *xenstore.Client, path string) error {
	if err := xs.Rm(ctx, path); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}

// destroy tears the domain down: forced unplug of every device, destroy,
// release from xenstore, and the removal of the domain's xenstore trees.
// It runs to the end even when ctx was cancelled (bounded by
// CleanupTimeout), so nothing is left half made.
func (r *runner) destroy(ctx context.Context) *opDone {
	if err := r.teardown(ctx, r.domid); err != nil {
		return &opDone{hasDomain: true, err: err}
	}
	return &opDone{}
}

func (r *runner) teardown(ctx context.Context, domid hypervisor.DomID) error {
	return r.teardownKeep(ctx, domid, false)
}

// teardownKeep is teardown that keeps /vm/<uuid> when keepVM: the VM has
// another domain.
func (r *runner) teardownKeep(ctx context.Context, domid hypervisor.DomID, keepVM bool) error {
	return atom(ctx, "teardown", func(ctx context.Context) error { return r.teardownAtoms(ctx, domid, keepVM) })
}

func (r *runner) teardownAtoms(ctx context.Context, domid hypervisor.DomID, keepVM bool) error {
	defer observeAtom(atomTeardown, time.Now())
	if r.gone != nil {
		r.gone(domid)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CleanupTimeout)
	defer cancel()
	hv, xs := r.cfg.Hypervisor, r.cfg.Xenstore
	// Pause first, as the reference does; a shut-down or vanished domain
	// may refuse, and the destroy goes on regardless.
	_ = hv.Pause(ctx, domid)
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	keep(r.stopDM(ctx, domid))
	keep(r.stopVGPUs(ctx, domid))
	keep(atom(ctx, "unplug", func(ctx context.Context) error { return r.unplugAll(ctx, domid) }))
	// The destroy and the removals get a budget of their own: devices that
	// would not unplug (a slow backend, a hostile guest) must not leave the
	// domain running, nor its xenstore trees.
	ctx, cancelRest := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CleanupTimeout)
	defer cancelRest()
	if err := hv.Destroy(ctx, domid); err != nil && !errdefs.IsNotFound(err) {
		keep(fmt.Errorf("vm %s: destroy domain %d: %w", r.cfg.Spec.UUID, domid, err))
	}
	if in, err := xs.IsDomainIntroduced(ctx, uint32(domid)); err == nil && in {
		if err := xs.Release(ctx, uint32(domid)); err != nil && !errdefs.IsNotFound(err) {
			keep(fmt.Errorf("vm %s: release domain %d: %w", r.cfg.Spec.UUID, domid, err))
		}
	}
	paths := []string{homePath(domid), backendRoot("vbd", domid), backendRoot("vif", domid),
		xenbus.PrivateRoot(uint32(domid))}
	if !keepVM {
		paths = append(paths, vmPath(r.cfg.Spec.UUID))
	}
	for _, p := range paths {
		keep(rmIfExists(ctx, xs, p))
	}
	return firstErr
}
