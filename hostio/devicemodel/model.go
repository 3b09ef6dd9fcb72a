package devicemodel

import (
	"context"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// Model is a running device model as the VM actors use it. *DM is one.
type Model interface {
	// Done is closed when the device model has ended.
	Done() <-chan struct{}
	// Err says how it ended, nil while it runs.
	Err() error
	// Pause and Resume stop and continue the emulation.
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	// Status returns the emulator's run state ("running", "paused", ...).
	Status(ctx context.Context) (string, error)
	// Stop ends it and removes its files; one that ended is not an error.
	Stop(ctx context.Context) error
	// Release drops the handle and leaves the device model running, for
	// another handle to adopt.
	Release()
}

// Launcher starts and adopts the device models of a host's domains.
type Launcher interface {
	// Start launches the device model of domain domid of the VM uuid and
	// returns once it is ready.
	Start(ctx context.Context, domid hypervisor.DomID, uuid string) (Model, error)
	// Adopt takes over the running device model of domid; ErrNotFound
	// when it is gone.
	Adopt(ctx context.Context, domid hypervisor.DomID, uuid string) (Model, error)
}

// QEMU is the Launcher of QEMU device models: Config is the template of
// every domain's (DomID and UUID are set per call).
type QEMU struct {
	Config Config
}

// Start implements Launcher.
func (q QEMU) Start(ctx context.Context, domid hypervisor.DomID, uuid string) (Model, error) {
	dm, err := Start(ctx, q.config(domid, uuid))
	if err != nil {
		return nil, err
	}
	return dm, nil
}

// Adopt implements Launcher.
func (q QEMU) Adopt(ctx context.Context, domid hypervisor.DomID, uuid string) (Model, error) {
	dm, err := Adopt(ctx, q.config(domid, uuid))
	if err != nil {
		return nil, err
	}
	return dm, nil
}

func (q QEMU) config(domid hypervisor.DomID, uuid string) Config {
	c := q.Config
	c.DomID, c.UUID = domid, uuid
	return c
}
