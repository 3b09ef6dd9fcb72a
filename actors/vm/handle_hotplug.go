package vm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// hotplugOp is the internal form of the four hot-plug commands.
type hotplugOp struct {
	class string
	devid int
	vbd   *VBD
	vif   *VIF
	plug  bool
	force bool
}

// handleHotplug spawns the device actor a plug needs (the device actors
// map is replaced, never changed, so running operations may read theirs)
// and queues the operation.
func (a *vmActor) handleHotplug(ctx actor.Context, op *hotplugOp) {
	kind := "VBD."
	if op.class == hotplug.ClassVIF {
		kind = "VIF."
	}
	if op.plug {
		kind += "plug"
		name := deviceName(op.class, op.devid)
		if a.st.devices[name] == nil {
			pid, err := ctx.SpawnNamed(deviceProps(&a.cfg), name)
			if err != nil {
				ctx.Respond(&OperationReply{Err: fmt.Errorf("vm %s: spawn %s: %w", a.cfg.Spec.UUID, name,
					errdefs.ErrUnavailable)})
				return
			}
			devs := maps.Clone(a.st.devices)
			devs[name] = pid
			a.st.devices = devs
		}
	} else {
		kind += "unplug"
	}
	a.enqueue(ctx, kind, op)
}

// hotplug plugs or unplugs one device of the running VM and returns the
// spec with the device added or removed. A halted VM only has its spec
// changed.
func (r *runner) hotplug(ctx context.Context, op *hotplugOp) *opDone {
	uuid, spec := r.cfg.Spec.UUID, r.cfg.Spec
	spec.VBDs, spec.VIFs = slices.Clone(spec.VBDs), slices.Clone(spec.VIFs)
	name := op.class + " " + strconv.Itoa(op.devid)
	i := slices.IndexFunc(spec.VBDs, func(v VBD) bool { return v.DevID == op.devid })
	if op.class == hotplug.ClassVIF {
		i = slices.IndexFunc(spec.VIFs, func(v VIF) bool { return v.DevID == op.devid })
	}
	switch {
	case op.plug && i >= 0:
		return &opDone{hasDomain: r.hasDomain, err: fmt.Errorf("vm %s: plug %s: %w", uuid, name, errdefs.ErrExists)}
	case !op.plug && i < 0:
		return &opDone{hasDomain: r.hasDomain, err: fmt.Errorf("vm %s: unplug %s: %w", uuid, name, errdefs.ErrNotFound)}
	}
	d := device{Device: hotplug.Device{Class: op.class, Frontend: uint32(r.domid), DevID: op.devid}}
	switch {
	case op.plug && op.vbd != nil:
		d.vbd = op.vbd
		spec.VBDs = append(spec.VBDs, *op.vbd)
	case op.plug:
		d.vif = op.vif
		spec.VIFs = append(spec.VIFs, *op.vif)
	case op.class == hotplug.ClassVBD:
		vbd := spec.VBDs[i] // a copy: Delete shifts and clears the slice
		d.vbd = &vbd
		spec.VBDs = slices.Delete(spec.VBDs, i, i+1)
	default:
		vif := spec.VIFs[i]
		d.vif = &vif
		spec.VIFs = slices.Delete(spec.VIFs, i, i+1)
	}
	if op.plug {
		if err := spec.Validate(); err != nil {
			return &opDone{hasDomain: r.hasDomain, err: fmt.Errorf("plug %s: %w", name, err)}
		}
	}
	if !r.hasDomain {
		return &opDone{spec: &spec}
	}
	if op.plug {
		if err := r.onDevice(ctx, d, true); err != nil {
			if uerr := r.onDevice(ctx, d, false); uerr != nil {
				err = fmt.Errorf("%w (and the unplug failed: %v)", err, uerr)
			}
			return &opDone{hasDomain: true, err: err}
		}
		return &opDone{hasDomain: true, spec: &spec}
	}
	if !op.force {
		if err := r.closeDevice(ctx, d); err != nil {
			return &opDone{hasDomain: true, err: err}
		}
	}
	if err := r.onDevice(ctx, d, false); err != nil {
		return &opDone{hasDomain: true, err: err}
	}
	return &opDone{hasDomain: true, spec: &spec}
}

// closeDevice asks for a clean unplug: online=0 and the backend Closing,
// then waits within UnplugTimeout for the frontend and the backend to be
// Closed.
func (r *runner) closeDevice(ctx context.Context, d device) error {
	xs, be, fe := r.cfg.Xenstore, d.BackendPath(), d.FrontendPath()
	err := xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := tx.Write(ctx, be+"/online", []byte("0")); err != nil {
			return err
		}
		if readTxState(ctx, tx, be+"/state") < xenbus.StateClosing {
			return tx.Write(ctx, be+"/state", []byte(strconv.Itoa(int(xenbus.StateClosing))))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vm %s: close %s: %w", r.cfg.Spec.UUID, d, err)
	}
	wctx, cancel := context.WithTimeout(ctx, r.cfg.UnplugTimeout)
	defer cancel()
	err = waitWatches(wctx, xs, []string{be, fe}, func(ctx context.Context) (bool, error) {
		return readState(ctx, xs, be+"/state") == xenbus.StateClosed && readState(ctx, xs, fe+"/state") == xenbus.StateClosed, nil
	})
	if err != nil {
		if ctx.Err() == nil && errdefs.IsTimeout(err) {
			return fmt.Errorf("vm %s: %s did not close within %s (frontend %s, backend %s): %w", r.cfg.Spec.UUID, d,
				r.cfg.UnplugTimeout, readState(ctx, xs, fe+"/state"), readState(ctx, xs, be+"/state"),
				errdefs.ErrTimeout)
		}
		return err
	}
	return nil
}
