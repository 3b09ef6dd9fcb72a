package vgpu

import "context"

// Emulator is a running vGPU emulator as the VM actors use it. *Process
// is one.
type Emulator interface {
	// Done is closed when the emulator has ended.
	Done() <-chan struct{}
	// Err says how it ended, nil while it runs.
	Err() error
	// Save returns the emulator's state, for a suspend image.
	Save(ctx context.Context) ([]byte, error)
	// Stop ends it and removes its files; one that ended is not an error.
	Stop(ctx context.Context) error
	// Release drops the handle and leaves the emulator running, for
	// another handle to adopt.
	Release()
}

// Launcher starts and adopts the vGPU emulators of a host's domains.
type Launcher interface {
	// Start launches the emulator of dev and returns once it is ready;
	// a non-nil state (from Save) is resumed.
	Start(ctx context.Context, dev Device, state []byte) (Emulator, error)
	// Adopt takes over the running emulator of dev; ErrNotFound when it
	// is gone.
	Adopt(ctx context.Context, dev Device) (Emulator, error)
}

// DEMU is the Launcher of DEMU processes: Config is the template of every
// vGPU's.
type DEMU struct {
	Config Config
}

// Start implements Launcher.
func (d DEMU) Start(ctx context.Context, dev Device, state []byte) (Emulator, error) {
	p, err := Start(ctx, d.Config, dev, state)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Adopt implements Launcher.
func (d DEMU) Adopt(ctx context.Context, dev Device) (Emulator, error) {
	p, err := Adopt(ctx, d.Config, dev)
	if err != nil {
		return nil, err
	}
	return p, nil
}
