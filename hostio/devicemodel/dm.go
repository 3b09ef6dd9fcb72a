package devicemodel

import (
	"context"
	"fmt"
	"os"

	"github.com/xenactor/xenactor/hostio/internal/emuproc"
)

// DM is a running device model: QEMU with its QMP connection
// (emuproc.Proc: Pid, QMP, Done, Err, Release, Stop).
type DM struct {
	*emuproc.Proc
	cfg   Config
	files Files
}

// spec is the emulator process of cfg's device model.
func (c Config) spec() emuproc.Spec {
	files := c.Files()
	return emuproc.Spec{What: fmt.Sprintf("devicemodel: domain %d", c.DomID), Name: "QEMU", Binary: c.Binary,
		Args: append(c.Args(c, files), c.ExtraArgs...), Socket: files.QMP, Log: files.Log, PidFile: files.PidFile,
		Identity: []byte(files.QMP), ReadyTimeout: c.ReadyTimeout, StopGrace: c.StopGrace,
		Remove: func(all bool) { removeFiles(files, all) }}
}

// Start launches the device model of cfg.DomID and waits until its QMP
// socket answers, at most cfg.ReadyTimeout (and ctx). A device model that
// exits or does not get ready in time is killed, its files removed, and
// the error says why (ErrTimeout, or ErrUnavailable with the end of its
// log).
func Start(ctx context.Context, cfg Config) (*DM, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("devicemodel: domain %d: run directory: %w", cfg.DomID, emuproc.FileErr(err))
	}
	// What a device model of an earlier domain with this id left.
	removeFiles(cfg.Files(), false)
	p, err := emuproc.Launch(ctx, cfg.spec())
	if err != nil {
		return nil, err
	}
	return &DM{Proc: p, cfg: cfg, files: cfg.Files()}, nil
}

// Adopt takes over the device model of cfg.DomID that an earlier daemon
// started: the pid file names a live process, started when it says, whose
// program is cfg.Binary and whose command line has this domain's QMP
// socket, and QMP answers. A device model that is gone is ErrNotFound.
func Adopt(ctx context.Context, cfg Config) (*DM, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p, err := emuproc.Attach(ctx, cfg.spec())
	if err != nil {
		return nil, err
	}
	return &DM{Proc: p, cfg: cfg, files: cfg.Files()}, nil
}

// Files returns the device model's files.
func (d *DM) Files() Files { return d.files }

// Pause stops the emulation (QMP stop).
func (d *DM) Pause(ctx context.Context) error {
	_, err := d.QMP().Execute(ctx, "stop", nil)
	return d.Wrap("pause", err)
}

// Resume continues the emulation (QMP cont).
func (d *DM) Resume(ctx context.Context) error {
	_, err := d.QMP().Execute(ctx, "cont", nil)
	return d.Wrap("resume", err)
}

// Status returns QEMU's run state ("running", "paused", ...).
func (d *DM) Status(ctx context.Context) (string, error) {
	st, err := d.QMP().QueryStatus(ctx)
	return st.Status, d.Wrap("status", err)
}

// removeFiles removes the socket and pid file, and the log too if withLog.
func removeFiles(f Files, withLog bool) {
	_ = os.Remove(f.QMP)
	_ = os.Remove(f.PidFile)
	if withLog {
		_ = os.Remove(f.Log)
	}
}
