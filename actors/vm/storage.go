package vm

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// vdi resolves the VDI of d's VBD through the storage registry: its SR's
// client, the volume's key, and the domain the datapath is for.
func (r worker) vdi(d device) (c *storage.Client, key, domain string, err error) {
	if r.cfg.Storage == nil {
		return nil, "", "", fmt.Errorf("vm %s: %s: VDI %s: no storage registry: %w", r.cfg.Spec.UUID, d, d.vbd.VDI,
			errdefs.ErrNotFound)
	}
	c, key, err = r.cfg.Storage.Lookup(d.vbd.VDI)
	if err != nil {
		return nil, "", "", fmt.Errorf("vm %s: %s: %w", r.cfg.Spec.UUID, d, err)
	}
	return c, key, strconv.FormatUint(uint64(d.Frontend), 10), nil
}

// hasVDI reports whether d is a VBD plugged through storage.
func (d device) hasVDI() bool { return d.vbd != nil && d.vbd.VDI != "" }

// attachVDI runs Datapath.attach and Datapath.activate of the VDI of d's
// VBD for d's domain, before the device's trees are written, and returns d
// with the VBD's params set to what attach returned. A device without VDI
// is returned as is. A volume found already attached for this domain (an
// interrupted plug or unplug) is detached and attached again. On failure
// the volume is detached again (a half attach undone), and the error
// carries the plugin's message.
func (r worker) attachVDI(ctx context.Context, d device) (device, error) {
	if !d.hasVDI() {
		return d, nil
	}
	c, key, domain, err := r.vdi(d)
	if err != nil {
		return d, err
	}
	fail := func(what string, err error) (device, error) {
		err = fmt.Errorf("vm %s: %s: %s VDI %s: %w", r.cfg.Spec.UUID, d, what, d.vbd.VDI, err)
		if derr := releaseVDI(context.WithoutCancel(ctx), c, key, domain); derr != nil {
			err = fmt.Errorf("%w (and the detach failed: %v)", err, derr)
		}
		return d, err
	}
	att, err := c.Attach(ctx, key, domain)
	if errdefs.IsExists(err) {
		if err := releaseVDI(ctx, c, key, domain); err != nil {
			return fail("attach again", err)
		}
		att, err = c.Attach(ctx, key, domain)
	}
	switch {
	case err != nil:
		return fail("attach", err)
	case att.Implementation != "" && att.Implementation != storage.ImplementationXenDisk:
		return fail("attach", fmt.Errorf("implementation %q is not %s: %w", att.Implementation,
			storage.ImplementationXenDisk, errdefs.ErrNotImplemented))
	case att.Params == "":
		return fail("attach", fmt.Errorf("the plugin returned no params: %w", errdefs.ErrUnavailable))
	}
	if err := c.Activate(ctx, key, domain); err != nil {
		return fail("activate", err)
	}
	vbd := *d.vbd
	vbd.Params = att.Params
	d.vbd = &vbd
	return d, nil
}

// detachVDI runs Datapath.deactivate and Datapath.detach of the VDI of d's
// VBD once its backend is gone; a volume not (or no longer) attached for
// d's domain is fine. A device without VDI has nothing to do, nor one whose
// SR is not in the registry: no plug could attach it.
func (r worker) detachVDI(ctx context.Context, d device) error {
	if !d.hasVDI() {
		return nil
	}
	c, key, domain, err := r.vdi(d)
	if err != nil {
		return nil
	}
	if err := releaseVDI(ctx, c, key, domain); err != nil {
		return fmt.Errorf("vm %s: %s: detach VDI %s: %w", r.cfg.Spec.UUID, d, d.vbd.VDI, err)
	}
	return nil
}

// releaseVDI deactivates and detaches volume key for domain, ignoring
// errdefs.ErrNotFound (not active, not attached for domain).
func releaseVDI(ctx context.Context, c *storage.Client, key, domain string) error {
	var errs []error
	for _, f := range []func(context.Context, string, string) error{c.Deactivate, c.Detach} {
		if err := f(ctx, key, domain); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
