package vm

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleStart queues a start.
// A start clears a crash loop and the last error.
func (a *vmActor) handleStart(ctx actor.Context, msg *StartVM) {
	a.st.crashLoop, a.st.crashes, a.st.lastErr = false, nil, nil
	a.enqueue(ctx, "VM.start", msg)
}

// start runs the start atoms: create, build, write the home, introduce,
// plug the VBDs in parallel (read-write first) and the VIFs in order, then
// unpause unless asked to stay paused. On failure everything it made is
// torn down.
func (r *runner) start(ctx context.Context, msg *StartVM) *opDone {
	spec := r.cfg.Spec
	if r.hasDomain {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: start: already has domain %d: %w",
			spec.UUID, r.domid, errdefs.ErrExists)}
	}
	if r.image != "" {
		// A start would lose the suspended memory.
		return &opDone{err: fmt.Errorf("vm %s: start: VM is Suspended: resume it or destroy it: %w", spec.UUID,
			errdefs.ErrBusy)}
	}
	if err := r.canCreate("start"); err != nil {
		return &opDone{err: err}
	}
	var domid hypervisor.DomID
	if err := atom(ctx, "create", func(ctx context.Context) (err error) {
		domid, err = r.createDomain(ctx)
		return err
	}); err != nil {
		return &opDone{err: err}
	}
	if err := r.boot(ctx, domid, msg.Paused); err != nil {
		if terr := r.teardown(ctx, domid); terr != nil {
			// The VM keeps the domain only if it is still there: a
			// teardown whose unplug failed may still have destroyed it.
			return &opDone{hasDomain: r.domainExists(ctx, domid),
				err: fmt.Errorf("%w (and the teardown failed: %v)", err, terr)}
		}
		return &opDone{err: err}
	}
	return &opDone{hasDomain: true, result: []byte(`{"domid":` + strconv.FormatUint(uint64(domid), 10) + `}`)}
}

// domainExists reports whether domain domid may still exist: false only
// when the hypervisor says it is gone.
func (r *runner) domainExists(ctx context.Context, domid hypervisor.DomID) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CleanupTimeout)
	defer cancel()
	_, err := r.cfg.Hypervisor.DomainInfo(ctx, domid)
	return !errdefs.IsNotFound(err)
}

// createDomain creates the VM's domain, paused, and notes it as made.
func (r *runner) createDomain(ctx context.Context) (hypervisor.DomID, error) {
	defer observeAtom(atomCreate, time.Now())
	spec := r.cfg.Spec
	handle := spec.UUID
	if r.cfg.DomainUUID != "" {
		handle = r.cfg.DomainUUID
	}
	domid, err := r.cfg.Hypervisor.Create(ctx, hypervisor.CreateConfig{UUID: handle, Type: spec.Type,
		MaxVCPUs: spec.VCPUs, MaxMemKiB: spec.MemoryKiB})
	if err != nil {
		return 0, fmt.Errorf("vm %s: create domain: %w", spec.UUID, err)
	}
	if r.cfg.OnCreate != nil {
		r.cfg.OnCreate(domid)
	}
	r.journalCreating(domid)
	r.created(domid)
	return domid, nil
}

// canCreate checks that the VM may get a new domain: a valid spec, and no
// device the toolstack cannot provide yet (errdefs.ErrNotImplemented).
func (r *runner) canCreate(what string) error {
	spec := r.cfg.Spec
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("%s: invalid spec: %w", what, err)
	}
	return passthroughMissing(spec, r.cfg.VGPUs != nil)
}

// boot builds the domain (in the xenguest helper if the VM has one) and
// runs the atoms after the build.
func (r *runner) boot(ctx context.Context, domid hypervisor.DomID, paused bool) error {
	spec, hv := r.cfg.Spec, r.cfg.Hypervisor
	var res hypervisor.BuildResult
	if err := atom(ctx, "build", func(ctx context.Context) (err error) {
		defer observeAtom(atomBuild, time.Now())
		if r.cfg.Xenguest != nil {
			res, err = r.buildWithHelper(ctx, domid)
			return err
		}
		res, err = hv.Build(ctx, domid, hypervisor.BuildConfig{Kernel: spec.Kernel, Ramdisk: spec.Ramdisk,
			Cmdline: spec.Cmdline, MemoryKiB: spec.MemoryKiB,
			TargetKiB: spec.MemoryKiB, ConsoleDomid: hypervisor.Dom0, StoreDomid: hypervisor.Dom0})
		return err
	}); err != nil {
		return fmt.Errorf("vm %s: build domain %d: %w", spec.UUID, domid, err)
	}
	return r.bringUp(ctx, domid, res, paused)
}

// bringUp runs the atoms after the build (or the restore of a resume):
// write the home, introduce, plug the devices, start the device model of
// an HVM domain, and unpause unless paused.
func (r *runner) bringUp(ctx context.Context, domid hypervisor.DomID, res hypervisor.BuildResult, paused bool) error {
	spec, hv, xs := r.cfg.Spec, r.cfg.Hypervisor, r.cfg.Xenstore
	if err := atom(ctx, "home", func(ctx context.Context) error {
		return xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
			return writeHome(ctx, tx, domid, spec, res)
		})
	}); err != nil {
		return fmt.Errorf("vm %s: write the home of domain %d: %w", spec.UUID, domid, err)
	}
	if err := atom(ctx, "introduce", func(ctx context.Context) error {
		return xs.Introduce(ctx, uint32(domid), res.StoreGFN, res.StorePort)
	}); err != nil {
		return fmt.Errorf("vm %s: introduce domain %d: %w", spec.UUID, domid, err)
	}
	if err := atom(ctx, "plug", func(ctx context.Context) error { return r.plugAll(ctx, domid) }); err != nil {
		return err
	}
	if err := atom(ctx, "vgpu", func(ctx context.Context) error { return r.startVGPUs(ctx, domid) }); err != nil {
		return err
	}
	if err := atom(ctx, "dm", func(ctx context.Context) error { return r.startDM(ctx, domid, paused) }); err != nil {
		return err
	}
	if !paused {
		if err := atom(ctx, "unpause", func(ctx context.Context) error { return hv.Unpause(ctx, domid) }); err != nil {
			return fmt.Errorf("vm %s: unpause domain %d: %w", spec.UUID, domid, err)
		}
	}
	return nil
}

// plugAll plugs the VBDs in parallel, read-write ones first, then the VIFs
// one after the other.
func (r *runner) plugAll(ctx context.Context, domid hypervisor.DomID) error {
	defer observeAtom(atomPlugDevices, time.Now())
	var vbds, vifs []device
	for _, d := range devices(r.cfg.Spec, domid) {
		if d.vbd != nil {
			vbds = append(vbds, d)
		} else {
			vifs = append(vifs, d)
		}
	}
	slices.SortStableFunc(vbds, func(a, b device) int {
		switch {
		case a.vbd.ReadOnly == b.vbd.ReadOnly:
			return 0
		case b.vbd.ReadOnly:
			return -1
		}
		return 1
	})
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(vbds))
	var wg sync.WaitGroup
	for i, d := range vbds {
		wg.Go(func() {
			if errs[i] = r.onDevice(pctx, d, true); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	if err := firstError(ctx, errs); err != nil {
		return err
	}
	for _, d := range vifs {
		if err := r.onDevice(ctx, d, true); err != nil {
			return err
		}
	}
	return nil
}

// firstError returns the error that made the others stop: one that is not
// the cancellation of its siblings, unless ctx itself ended.
func firstError(ctx context.Context, errs []error) error {
	var canceled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errdefs.IsCanceled(err) && ctx.Err() == nil:
			canceled = err
		default:
			return err
		}
	}
	return canceled
}
