package vm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// worker runs the device atoms with the VM's config.
type worker struct{ cfg *Config }

// device is one PV device of the VM with what its trees are written from.
type device struct {
	hotplug.Device
	vbd *VBD
	vif *VIF
}

// devices lists the spec's devices for domain domid: VBDs then VIFs.
func devices(spec Spec, domid hypervisor.DomID) []device {
	var out []device
	for i := range spec.VBDs {
		out = append(out, device{Device: hotplug.Device{Class: hotplug.ClassVBD, Frontend: uint32(domid),
			DevID: spec.VBDs[i].DevID}, vbd: &spec.VBDs[i]})
	}
	for i := range spec.VIFs {
		out = append(out, device{Device: hotplug.Device{Class: hotplug.ClassVIF, Frontend: uint32(domid),
			DevID: spec.VIFs[i].DevID}, vif: &spec.VIFs[i]})
	}
	return out
}

// backendRoot is /local/domain/0/backend/<class>/<domid>.
func backendRoot(class string, domid hypervisor.DomID) string {
	return "/local/domain/0/backend/" + class + "/" + domid.String()
}

// writeTrees writes the device's backend and frontend trees with the
// reference's keys and permissions, both Initialising; each directory is
// made with its permissions first so that its keys inherit them.
func (d device) writeTrees(ctx context.Context, tx *xenstore.Tx) error {
	var b xenbus.Backing
	if d.vbd != nil {
		b.Params, b.ReadOnly = d.vbd.Params, d.vbd.ReadOnly
	} else {
		b.MAC, b.Bridge, b.VIFUUID, b.NetworkUUID = d.vif.MAC, d.vif.Bridge, d.vif.UUID, d.vif.Network
	}
	if err := xenbus.WriteTrees(ctx, tx, d.Device, b); err != nil {
		return err
	}
	return writePVSKeys(ctx, tx, d) // pvs.go
}

func (d device) String() string { return d.Class + " " + strconv.Itoa(d.DevID) }

// plug attaches and activates a VBD's VDI (its params then come from the
// storage plugin), writes the device's trees in one transaction, runs
// hotplug (for a VIF once netback is in InitWait) and waits for
// hotplug-status=connected or hotplug-error.
func (r worker) plug(ctx context.Context, d device) error {
	xs, be := r.cfg.Xenstore, d.BackendPath()
	d, serr := r.attachVDI(ctx, d) // storage.go
	if serr != nil {
		return serr
	}
	if _, _, err := r.pvs(d); err != nil { // pvs.go
		return err
	}
	if err := xs.Update(ctx, d.writeTrees); err != nil {
		return fmt.Errorf("vm %s: write %s: %w", r.cfg.Spec.UUID, d, err)
	}
	hctx, cancel := context.WithTimeout(ctx, r.cfg.HotplugTimeout)
	defer cancel()
	if d.Class == hotplug.ClassVIF {
		err := waitWatch(hctx, xs, be, func(ctx context.Context) (bool, error) {
			if msg := readString(ctx, xs, be+"/hotplug-error"); msg != "" {
				return true, r.hotplugError(d, msg)
			}
			return readState(ctx, xs, be+"/state") >= xenbus.StateInitWait, nil
		})
		if err != nil {
			return r.waitError(ctx, d, "InitWait", err)
		}
	}
	if err := r.cfg.Hotplug.Add(hctx, d.Device); err != nil {
		if msg := readString(ctx, xs, be+"/hotplug-error"); msg != "" {
			return r.hotplugError(d, msg)
		}
		return fmt.Errorf("vm %s: hotplug add %s: %w", r.cfg.Spec.UUID, d, err)
	}
	err := waitWatch(hctx, xs, be, func(ctx context.Context) (bool, error) {
		if msg := readString(ctx, xs, be+"/hotplug-error"); msg != "" {
			return true, r.hotplugError(d, msg)
		}
		return readString(ctx, xs, be+"/hotplug-status") == "connected", nil
	})
	if err != nil {
		return r.waitError(ctx, d, "hotplug-status", err)
	}
	return r.addPVSRules(ctx, d) // pvs.go
}

func (r worker) hotplugError(d device, msg string) error {
	return fmt.Errorf("vm %s: %s: hotplug-error: %s: %w", r.cfg.Spec.UUID, d, msg, errdefs.ErrUnavailable)
}

// waitError names what a device wait was for; a timeout of the wait (not
// of the operation) wraps errdefs.ErrTimeout.
func (r worker) waitError(ctx context.Context, d device, what string, err error) error {
	if ctx.Err() == nil && errdefs.IsTimeout(err) {
		return fmt.Errorf("vm %s: %s: no %s within %s: %w", r.cfg.Spec.UUID, d, what, r.cfg.HotplugTimeout,
			errdefs.ErrTimeout)
	}
	return err
}

// unplug removes the device by force: online=0 and the backend Closing (as
// a clean unplug asks), the frontend tree at once,
// then the backend tree once the backend closed or its hotplug-status is
// gone (or UnplugTimeout passed),
// then hotplug's remove, then the storage detach of a VBD with a VDI.
// Missing trees are fine.
func (r worker) unplug(ctx context.Context, d device) error {
	xs, be := r.cfg.Xenstore, d.BackendPath()
	_ = xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if ok, err := tx.Exists(ctx, be); err != nil || !ok {
			return err
		}
		if err := tx.Write(ctx, be+"/online", []byte("0")); err != nil {
			return err
		}
		if st := readTxState(ctx, tx, be+"/state"); st < xenbus.StateClosing {
			return tx.Write(ctx, be+"/state", []byte(strconv.Itoa(int(xenbus.StateClosing))))
		}
		return nil
	})
	if err := rmIfExists(ctx, xs, d.FrontendPath()); err != nil {
		return fmt.Errorf("vm %s: unplug %s: %w", r.cfg.Spec.UUID, d, err)
	}
	wctx, cancel := context.WithTimeout(ctx, r.cfg.UnplugTimeout)
	_ = waitWatch(wctx, xs, be, func(ctx context.Context) (bool, error) {
		if ok, err := xs.Exists(ctx, be); err == nil && !ok {
			return true, nil
		}
		if ok, err := xs.Exists(ctx, be+"/hotplug-status"); err == nil && !ok {
			return true, nil // hotplug never brought it up, or took it down
		}
		return readState(ctx, xs, be+"/state") == xenbus.StateClosed, nil
	})
	cancel()
	if err := rmIfExists(ctx, xs, be); err != nil {
		return fmt.Errorf("vm %s: unplug %s: %w", r.cfg.Spec.UUID, d, err)
	}
	defer func() { _ = rmIfExists(ctx, xs, d.PrivatePath()) }() // after hotplug's remove, which may read it
	// The PVS rules go first, with the port still there (pvs.go).
	pvsErr := r.delPVSRules(ctx, d)
	if err := r.cfg.Hotplug.Remove(ctx, d.Device); err != nil {
		return fmt.Errorf("vm %s: hotplug remove %s: %w", r.cfg.Spec.UUID, d, err)
	}
	if err := r.detachVDI(ctx, d); err != nil { // storage.go
		return err
	}
	return pvsErr
}

// unplugAll unplugs every device of the spec in parallel, each through
// its device actor.
func (r *runner) unplugAll(ctx context.Context, domid hypervisor.DomID) error {
	devs := devices(r.cfg.Spec, domid)
	errs := make([]error, len(devs))
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() { errs[i] = r.onDevice(ctx, d, false) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// waitWatch watches path and calls check at once and after every event
// until it reports done (with its error) or ctx ends.
func waitWatch(ctx context.Context, xs *xenstore.Client, path string, check func(context.Context) (bool, error)) error {
	return waitWatches(ctx, xs, []string{path}, check)
}

// waitWatches is waitWatch over several paths: check runs after an event
// on any of them, so a condition on two trees (a frontend's and a
// backend's state) is seen whichever changes last.
func waitWatches(ctx context.Context, xs *xenstore.Client, paths []string, check func(context.Context) (bool, error)) error {
	events := make(chan struct{}, 1)
	ended := make(chan string, len(paths))
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, which the forwarders wait for
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, path := range paths {
		w, err := xs.Watch(wctx, path, newToken())
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer func() { _ = w.Close(context.WithoutCancel(ctx)) }()
			for {
				select {
				case _, ok := <-w.Events():
					if !ok {
						ended <- path
						return
					}
					select {
					case events <- struct{}{}:
					default:
					}
				case <-wctx.Done():
					return
				}
			}
		})
	}
	for {
		if done, err := check(ctx); done {
			return err
		}
		select {
		case <-events:
		case path := <-ended:
			return fmt.Errorf("vm: watch on %s ended: %w", path, errdefs.ErrUnavailable)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func newToken() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "vm-" + hex.EncodeToString(b[:])
}

// readString reads a node as a string; a missing node is "".
func readString(ctx context.Context, xs *xenstore.Client, path string) string {
	v, err := xs.Read(ctx, path)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(v), "\x00")
}

// readState reads a XenBus state node; missing or junk is xenbus.StateUnknown.
func readState(ctx context.Context, xs *xenstore.Client, path string) xenbus.State {
	return parseState(readString(ctx, xs, path))
}

func readTxState(ctx context.Context, tx *xenstore.Tx, path string) xenbus.State {
	v, err := tx.Read(ctx, path)
	if err != nil {
		return xenbus.StateUnknown
	}
	return parseState(string(v))
}

func parseState(s string) xenbus.State {
	st, _ := xenbus.ParseState(s)
	return st
}
