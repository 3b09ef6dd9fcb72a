package vm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// resume resumes the Suspended VM, as xenopsd does: create a domain,
// restore the image into it instead of building it, then the atoms a start
// runs after its build (home, introduce, plug the VBDs and VIFs, and
// unpause unless msg.Paused). The guest's frontends reconnect to the new
// backends. On success the image is deleted. A failure or cancel tears
// down what was made, as a failed start does, and leaves the VM Suspended
// with its image.
func (r *runner) resume(ctx context.Context, msg *ResumeVM) *opDone {
	spec := r.cfg.Spec
	switch {
	case r.hasDomain:
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: resume: VM has domain %d, it is not Suspended: %w",
			spec.UUID, r.domid, errdefs.ErrInvalid)}
	case r.image == "":
		return &opDone{err: fmt.Errorf("vm %s: resume: VM is Halted, not Suspended: %w", spec.UUID, errdefs.ErrInvalid)}
	}
	if err := r.canCreate("resume"); err != nil {
		return &opDone{err: err}
	}
	f, err := os.Open(r.image)
	if err != nil {
		return &opDone{err: fmt.Errorf("vm %s: resume: %w", spec.UUID, fileError("image", r.image, err))}
	}
	defer f.Close()
	domid, err := r.createDomain(ctx)
	if err != nil {
		return &opDone{err: err}
	}
	var res hypervisor.BuildResult
	err = atom(ctx, "restore", func(ctx context.Context) (err error) {
		if r.cfg.EmuManager != nil {
			res, err = r.restoreWithHelper(ctx, domid, f)
		} else {
			res, err = r.restoreImage(ctx, domid, f)
		}
		return err
	})
	if err != nil {
		err = fmt.Errorf("vm %s: restore domain %d from %s: %w", spec.UUID, domid, r.image, err)
	} else {
		err = r.bringUp(ctx, domid, res, msg.Paused)
	}
	if err != nil {
		if terr := r.teardown(ctx, domid); terr != nil {
			return &opDone{hasDomain: true, err: fmt.Errorf("%w (and the teardown failed: %v)", err, terr)}
		}
		return &opDone{err: err}
	}
	// The image is spent: a second resume of it would run the guest's
	// past again. A file that cannot be deleted is only disk space.
	_ = os.Remove(r.image)
	none := ""
	return &opDone{hasDomain: true, image: &none,
		result: []byte(`{"domid":` + strconv.FormatUint(uint64(domid), 10) + `}`)}
}

// destroyImage destroys a Suspended VM: its image is deleted and it is
// Halted.
func (r *runner) destroyImage() *opDone {
	if err := os.Remove(r.image); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &opDone{err: fmt.Errorf("vm %s: destroy: %w", r.cfg.Spec.UUID, fileError("suspend image", r.image, err))}
	}
	none := ""
	return &opDone{image: &none}
}
