package vgpu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/xenactor/xenactor/hostio/internal/emuproc"
	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/hostio/vgpu/demu"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Process is a running DEMU, the emulator of one vGPU, with its control
// connection (emuproc.Proc: Pid, Done, Err, Release, Stop).
type Process struct {
	*emuproc.Proc
	cfg   Config
	dev   Device
	files Files
}

// spec is the emulator process of dev's DEMU, resuming from its state
// file when resume.
func (c Config) spec(dev Device, resume bool) emuproc.Spec {
	files := c.Files(dev)
	return emuproc.Spec{What: fmt.Sprintf("vgpu: domain %d vGPU %d", dev.DomID, dev.DevID), Name: "DEMU",
		Binary: c.Binary, Args: c.Args(dev, files, resume), Env: c.Env, Socket: files.Control, Log: files.Log,
		PidFile: files.PidFile, Identity: []byte("--control=" + files.Control + "\x00"),
		ReadyTimeout: c.ReadyTimeout, StopGrace: c.StopGrace, Remove: func(all bool) { removeFiles(files, all) }}
}

// Start launches the DEMU of dev and waits until its control socket
// answers, at most cfg.ReadyTimeout (and ctx). A non-nil state is what an
// earlier DEMU saved (Save): the new one resumes from it (--resume). A
// DEMU that exits or is not ready in time is killed, its files removed,
// and the error says why (ErrTimeout, or ErrUnavailable with the end of
// its log).
func Start(ctx context.Context, cfg Config, dev Device, state []byte) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(dev); err != nil {
		return nil, err
	}
	files := cfg.Files(dev)
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("vgpu: domain %d: run directory: %w", dev.DomID, emuproc.FileErr(err))
	}
	// What a DEMU of an earlier domain with this id left.
	removeFiles(files, true)
	if err := os.WriteFile(files.Config, configFile(dev), 0o600); err != nil {
		return nil, fmt.Errorf("vgpu: domain %d vGPU %d: config: %w", dev.DomID, dev.DevID, emuproc.FileErr(err))
	}
	if state != nil {
		if err := os.WriteFile(files.State, state, 0o600); err != nil {
			removeFiles(files, true)
			return nil, fmt.Errorf("vgpu: domain %d vGPU %d: state: %w", dev.DomID, dev.DevID, emuproc.FileErr(err))
		}
	}
	p, err := emuproc.Launch(ctx, cfg.spec(dev, state != nil))
	if err != nil {
		return nil, err
	}
	// DEMU read its state before it listened.
	_ = os.Remove(files.State)
	return &Process{Proc: p, cfg: cfg, dev: dev, files: files}, nil
}

// Adopt takes over the DEMU of dev that an earlier daemon started: the
// pid file names a live process, started when it says, whose program is
// cfg.Binary and whose command line has this vGPU's control socket, and
// the socket answers. One that is gone is ErrNotFound.
func Adopt(ctx context.Context, cfg Config, dev Device) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(dev); err != nil {
		return nil, err
	}
	p, err := emuproc.Attach(ctx, cfg.spec(dev, false))
	if err != nil {
		return nil, err
	}
	return &Process{Proc: p, cfg: cfg, dev: dev, files: cfg.Files(dev)}, nil
}

// Files returns DEMU's files.
func (p *Process) Files() Files { return p.files }

// Control returns the connection to DEMU's control socket.
func (p *Process) Control() *qmp.Client { return p.QMP() }

// Device returns the vGPU DEMU emulates.
func (p *Process) Device() Device { return p.dev }

// Query returns the emulator's state, as it would save it.
func (p *Process) Query(ctx context.Context) (demu.State, error) {
	var st demu.State
	err := p.QMP().Run(ctx, "query-vgpu", nil, &st)
	return st, p.Wrap("query", err)
}

// Health checks that the emulator answers and runs.
func (p *Process) Health(ctx context.Context) error {
	st, err := p.QMP().QueryStatus(ctx)
	if err != nil {
		return p.Wrap("health", err)
	}
	if st.Status != "running" {
		return fmt.Errorf("vgpu: domain %d vGPU %d: DEMU is %s: %w", p.dev.DomID, p.dev.DevID, st.Status,
			errdefs.ErrUnavailable)
	}
	return nil
}

// Save asks DEMU to write its state to its state file, and returns the
// state (the file is removed): what Start resumes from.
func (p *Process) Save(ctx context.Context) ([]byte, error) {
	if _, err := p.QMP().Execute(ctx, "save-state", nil); err != nil {
		return nil, p.Wrap("save", err)
	}
	b, err := os.ReadFile(p.files.State)
	if err != nil {
		return nil, fmt.Errorf("vgpu: save domain %d vGPU %d: %w", p.dev.DomID, p.dev.DevID, emuproc.FileErr(err))
	}
	_ = os.Remove(p.files.State)
	if !json.Valid(b) {
		return nil, fmt.Errorf("vgpu: save domain %d vGPU %d: the state is not JSON: %w", p.dev.DomID, p.dev.DevID,
			errdefs.ErrInvalid)
	}
	return b, nil
}
