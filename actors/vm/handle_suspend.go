package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The task kinds of suspend and resume.
const (
	kindSuspend = "VM.suspend"
	kindResume  = "VM.resume"
)

// imageBufferBytes is the buffer between the hypervisor's save or restore
// and the image file.
const imageBufferBytes = 1 << 20

// suspend suspends the running VM to msg.Path, as xenopsd does: ask the
// guest (control/shutdown=suspend), wait for its acknowledgement within
// AckTimeout and for the domain to shut down for suspend within
// SuspendTimeout, save the memory image, then tear the domain and its
// devices down as a shutdown does.
//
// Until the guest suspended, a failure or a cancel leaves the VM Running
// (an unacknowledged request is withdrawn). Once it suspended, the
// hypervisor interface has no way to resume the domain in place: a failed
// or cancelled save leaves the domain Shutdown (reason suspend), with
// VMStatus.LastError saying so, for a DestroyVM; the partial image is
// removed.
func (r *runner) suspend(ctx context.Context, msg *SuspendVM) *opDone {
	uuid, hv, xs := r.cfg.Spec.UUID, r.cfg.Hypervisor, r.cfg.Xenstore
	if err := r.needDomain("suspend"); err != nil {
		return &opDone{err: err}
	}
	fail := func(err error) *opDone { return &opDone{hasDomain: true, err: err} }
	path, err := checkImagePath(msg.Path)
	if err != nil {
		return fail(fmt.Errorf("vm %s: suspend: %w", uuid, err))
	}
	info, err := hv.DomainInfo(ctx, r.domid)
	if err != nil {
		return fail(fmt.Errorf("vm %s: suspend: domain %d: %w", uuid, r.domid, err))
	}
	if p := powerState(info); p != Running {
		return fail(fmt.Errorf("vm %s: suspend: VM is %s, not Running: %w", uuid, p, errdefs.ErrInvalid))
	}
	if readString(ctx, xs, homePath(r.domid)+"/control/feature-suspend") != "1" {
		return fail(fmt.Errorf("vm %s: suspend: the guest cannot suspend (no control/feature-suspend: no PV drivers): %w",
			uuid, errdefs.ErrNotImplemented))
	}
	ectx, stop := context.WithCancel(ctx)
	defer stop()
	evs, err := hv.Events(ectx)
	if err != nil {
		return fail(fmt.Errorf("vm %s: domain events: %w", uuid, err))
	}
	if r.cfg.EmuManager != nil {
		// The helper asks for the suspend and saves (emu.go).
		if done := r.suspendWithHelper(ctx, evs, path); done != nil {
			return done
		}
	} else {
		if done := r.suspendGuest(ctx, evs); done != nil {
			return done
		}
		if err := atom(ctx, "save", func(ctx context.Context) error { return r.saveImage(ctx, path) }); err != nil {
			return r.leftSuspended(ctx, err)
		}
	}
	if err := r.teardown(ctx, r.domid); err != nil {
		return fail(fmt.Errorf("vm %s: suspended to %s, but the teardown of domain %d failed (the image is kept): %w",
			uuid, path, r.domid, err))
	}
	result, _ := json.Marshal(struct {
		Image string `json:"image"`
	}{path})
	return &opDone{image: &path, result: result}
}

// suspendGuest asks the guest to suspend and waits until its domain shut
// down for suspend. It returns nil then, and how the suspend ends
// otherwise.
func (r *runner) suspendGuest(ctx context.Context, evs <-chan struct{}) *opDone {
	uuid, hv := r.cfg.Spec.UUID, r.cfg.Hypervisor
	fail := func(err error) *opDone { return &opDone{hasDomain: true, err: err} }
	if err := r.askGuest(ctx, hypervisor.ShutdownSuspend); err != nil {
		return fail(err)
	}
	if err := r.waitShutdown(ctx, evs, r.cfg.SuspendTimeout); err != nil {
		// A guest that acknowledged may still suspend after a cancel; the
		// check that follows its shutdown reports it.
		return r.leftSuspended(ctx, err)
	}
	info, err := hv.DomainInfo(ctx, r.domid)
	switch {
	case err != nil:
		return fail(fmt.Errorf("vm %s: suspend: domain %d: %w", uuid, r.domid, err))
	case info.ShutdownReason != hypervisor.ShutdownSuspend:
		// The check that follows applies the spec's action.
		return fail(fmt.Errorf("vm %s: suspend: domain %d shut down for %s instead: %w", uuid, r.domid,
			info.ShutdownReason, errdefs.ErrUnavailable))
	}
	return nil
}

// leftSuspended ends a suspend that failed with err after the guest was
// asked: if the domain did suspend, it is left so, and LastError says so.
func (r *runner) leftSuspended(ctx context.Context, err error) *opDone {
	info, ierr := r.cfg.Hypervisor.DomainInfo(context.WithoutCancel(ctx), r.domid)
	if ierr != nil || !info.Shutdown || info.ShutdownReason != hypervisor.ShutdownSuspend {
		return &opDone{hasDomain: true, err: err}
	}
	return &opDone{hasDomain: true, err: err, lastErr: errLeftSuspended(r.cfg.Spec.UUID, r.domid, err)}
}

// errLeftSuspended says that domid is left shut down for suspend, without
// an image.
func errLeftSuspended(uuid string, domid hypervisor.DomID, why error) error {
	return fmt.Errorf("vm %s: domain %d is left shut down for suspend with no image (%v): it cannot be resumed "+
		"in place; destroy it: %w", uuid, domid, why, errdefs.ErrUnavailable)
}

// checkImagePath checks where a suspend image is to go: an absolute path,
// in a directory that exists, where no file is yet.
func checkImagePath(p string) (string, error) {
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("image path %q is not absolute: %w", p, errdefs.ErrInvalid)
	}
	p = filepath.Clean(p)
	if _, err := os.Lstat(p); err == nil {
		return "", fmt.Errorf("image %s exists; it is not replaced: %w", p, errdefs.ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fileError("image", p, err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil {
		return "", fileError("image directory", filepath.Dir(p), err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("image directory %s is not a directory: %w", filepath.Dir(p), errdefs.ErrInvalid)
	}
	return p, nil
}

// saveImage saves the suspended domain's memory to path atomically: into
// a temporary file (0600) in the same directory, synced, then renamed into
// place. The temporary file is removed on failure or cancel.
func (r *runner) saveImage(ctx context.Context, path string) (err error) {
	uuid := r.cfg.Spec.UUID
	f, err := r.createImage(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, imageBufferBytes)
	if err := r.cfg.Hypervisor.Save(ctx, r.domid, w, hypervisor.SaveOptions{}); err != nil {
		return fmt.Errorf("vm %s: save domain %d to %s: %w", uuid, r.domid, path, err)
	}
	if err := r.saveEmulators(ctx, w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("vm %s: suspend: %w", uuid, fileError("image", f.Name(), err))
	}
	return r.placeImage(ctx, f, path)
}

// createImage creates the temporary file (0600) an image to go to path is
// saved into, in the same directory.
func (r *runner) createImage(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("vm %s: suspend: %w", r.cfg.Spec.UUID, fileError("image", path, err))
	}
	return f, nil
}

// placeImage syncs and closes the saved temporary file f and renames it
// to path. On failure the caller removes f.
func (r *runner) placeImage(ctx context.Context, f *os.File, path string) error {
	uuid, tmp, dir := r.cfg.Spec.UUID, f.Name(), filepath.Dir(path)
	err := f.Sync()
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return fmt.Errorf("vm %s: suspend: %w", uuid, fileError("image", tmp, err))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vm %s: save domain %d: %w", uuid, r.domid, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("vm %s: suspend: %w", uuid, fileError("image", path, err))
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename, durable
		_ = d.Close()
	}
	return nil
}

// fileError wraps a file system error with the errdefs kind it is.
func fileError(what, path string, err error) error {
	kind := errdefs.ErrUnavailable
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = errdefs.ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		kind = errdefs.ErrPermission
	case errors.Is(err, fs.ErrExist):
		kind = errdefs.ErrExists
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
		kind = errdefs.ErrInvalid
	}
	return fmt.Errorf("%s %s: %w: %w", what, path, err, kind)
}
