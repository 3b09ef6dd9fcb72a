package vgpu

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The defaults of Config.
const (
	DefaultBinary       = "xenactor-demu"
	DefaultReadyTimeout = 10 * time.Second
	DefaultStopGrace    = 5 * time.Second
)

// maxSocketPath is the longest path of a Unix socket (sun_path less its
// terminating NUL).
const maxSocketPath = 107

// Config is the template of the host's DEMU processes.
type Config struct {
	// RunDir holds the control socket, pid file, log, config and state
	// file of each vGPU's DEMU. It is created if missing.
	RunDir string
	// Binary is the DEMU program: a path, or a name looked up in PATH.
	// Empty means DefaultBinary.
	Binary string
	// Env is added to the environment DEMU inherits.
	Env []string
	// ReadyTimeout bounds the wait for the control socket after the launch
	// and the handshake of Adopt; StopGrace each wait of Stop (after the
	// quit, after SIGTERM). Zero means the defaults.
	ReadyTimeout time.Duration
	StopGrace    time.Duration
}

// Device is one vGPU of a domain.
type Device struct {
	DomID hypervisor.DomID
	VCPUs int
	// DevID is the vGPU's devid in the VM, unique among its vGPUs.
	DevID int
	// Type is the vGPU type ("GRID T4-2Q"); GPU the physical GPU's BDF;
	// UUID the vGPU instance.
	Type string
	GPU  string
	UUID string
}

// Files are the files of one vGPU's DEMU in the run directory.
type Files struct {
	Control string // the control (QMP) socket
	PidFile string // DEMU's pid, in decimal
	Log     string // DEMU's standard output and error
	Config  string // the vGPU's config (--config)
	State   string // where DEMU saves its state and resumes from (--suspend)
}

// Files returns the files of dev's DEMU: demu-<domid>-<devid>.*.
func (c Config) Files(dev Device) Files {
	base := filepath.Join(c.RunDir, "demu-"+strconv.FormatUint(uint64(dev.DomID), 10)+"-"+strconv.Itoa(dev.DevID))
	return Files{Control: base + ".sock", PidFile: base + ".pid", Log: base + ".log", Config: base + ".conf",
		State: base + ".state"}
}

// Args returns DEMU's arguments, xenopsd's with the control socket.
func (c Config) Args(dev Device, f Files, resume bool) []string {
	args := []string{"--domain=" + strconv.FormatUint(uint64(dev.DomID), 10), "--vcpus=" + strconv.Itoa(max(dev.VCPUs, 1)),
		"--gpu=" + dev.GPU, "--config=" + f.Config, "--suspend=" + f.State}
	if resume {
		args = append(args, "--resume")
	}
	return append(args, "--control="+f.Control)
}

// configFile is the vGPU's config DEMU reads.
func configFile(dev Device) []byte {
	return fmt.Appendf(nil, "type=%s\nuuid=%s\ndevid=%d\n", dev.Type, dev.UUID, dev.DevID)
}

func (c Config) withDefaults() Config {
	if c.Binary == "" {
		c.Binary = DefaultBinary
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	return c
}

func (c Config) validate(dev Device) error {
	switch {
	case dev.DomID == 0:
		return fmt.Errorf("vgpu: domain 0 has no vGPU: %w", errdefs.ErrInvalid)
	case c.RunDir == "":
		return fmt.Errorf("vgpu: domain %d: no run directory: %w", dev.DomID, errdefs.ErrInvalid)
	case dev.Type == "" || dev.GPU == "":
		return fmt.Errorf("vgpu: domain %d vGPU %d: no type or physical GPU: %w", dev.DomID, dev.DevID, errdefs.ErrInvalid)
	case len(c.Files(dev).Control) > maxSocketPath:
		return fmt.Errorf("vgpu: domain %d: control socket path %s longer than %d bytes: %w", dev.DomID,
			c.Files(dev).Control, maxSocketPath, errdefs.ErrInvalid)
	}
	return nil
}
