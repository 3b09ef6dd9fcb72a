//go:build !xen || !linux || !cgo

package xen

import (
	"context"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Supported reports whether this build has the Xen backend (the build tag
// xen, on Linux with cgo).
const Supported = false

// errNoBackend is what every method of the stub returns.
var errNoBackend = fmt.Errorf("xen backend: not in this build (build with -tags xen, on Linux with cgo): %w",
	errdefs.ErrNotImplemented)

// Hypervisor is the Xen backend; in this build every method fails with
// errdefs.ErrNotImplemented.
type Hypervisor struct{}

var _ hypervisor.Hypervisor = (*Hypervisor)(nil)

// Open fails: this build has no Xen backend.
func Open(Config) (*Hypervisor, error) { return nil, errNoBackend }

// Close does nothing.
func (*Hypervisor) Close() error { return nil }

// HostInfo fails with errdefs.ErrNotImplemented.
func (*Hypervisor) HostInfo(context.Context) (HostInfo, error) { return HostInfo{}, errNoBackend }

// Create fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Create(context.Context, hypervisor.CreateConfig) (hypervisor.DomID, error) {
	return 0, errNoBackend
}

// SetMaxMem fails with errdefs.ErrNotImplemented.
func (*Hypervisor) SetMaxMem(context.Context, hypervisor.DomID, uint64) error { return errNoBackend }

// SetMaxVCPUs fails with errdefs.ErrNotImplemented.
func (*Hypervisor) SetMaxVCPUs(context.Context, hypervisor.DomID, int) error { return errNoBackend }

// Pause fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Pause(context.Context, hypervisor.DomID) error { return errNoBackend }

// Unpause fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Unpause(context.Context, hypervisor.DomID) error { return errNoBackend }

// Shutdown fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Shutdown(context.Context, hypervisor.DomID, hypervisor.ShutdownReason) error {
	return errNoBackend
}

// Destroy fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Destroy(context.Context, hypervisor.DomID) error { return errNoBackend }

// DomainInfo fails with errdefs.ErrNotImplemented.
func (*Hypervisor) DomainInfo(context.Context, hypervisor.DomID) (hypervisor.DomainInfo, error) {
	return hypervisor.DomainInfo{}, errNoBackend
}

// ListDomains fails with errdefs.ErrNotImplemented.
func (*Hypervisor) ListDomains(context.Context) ([]hypervisor.DomainInfo, error) {
	return nil, errNoBackend
}

// Build fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Build(context.Context, hypervisor.DomID, hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	return hypervisor.BuildResult{}, errNoBackend
}

// SetMemoryTarget fails with errdefs.ErrNotImplemented.
func (*Hypervisor) SetMemoryTarget(context.Context, hypervisor.DomID, uint64) error {
	return errNoBackend
}

// Events fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Events(context.Context) (<-chan struct{}, error) { return nil, errNoBackend }

// Save fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Save(context.Context, hypervisor.DomID, io.Writer, hypervisor.SaveOptions) error {
	return errNoBackend
}

// Restore fails with errdefs.ErrNotImplemented.
func (*Hypervisor) Restore(context.Context, hypervisor.DomID, io.Reader) (hypervisor.BuildResult, error) {
	return hypervisor.BuildResult{}, errNoBackend
}

// EnableDirtyLog fails with errdefs.ErrNotImplemented.
func (*Hypervisor) EnableDirtyLog(context.Context, hypervisor.DomID) error { return errNoBackend }

// DisableDirtyLog fails with errdefs.ErrNotImplemented.
func (*Hypervisor) DisableDirtyLog(context.Context, hypervisor.DomID) error { return errNoBackend }

// ReadDirtyLog fails with errdefs.ErrNotImplemented.
func (*Hypervisor) ReadDirtyLog(context.Context, hypervisor.DomID, bool) ([]uint64, error) {
	return nil, errNoBackend
}

// ReadPages fails with errdefs.ErrNotImplemented.
func (*Hypervisor) ReadPages(context.Context, hypervisor.DomID, []uint64, io.Writer) error {
	return errNoBackend
}
