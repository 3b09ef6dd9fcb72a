package devicemodel

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
	DefaultBinary       = "qemu-system-x86_64"
	DefaultReadyTimeout = 10 * time.Second
	DefaultStopGrace    = 5 * time.Second
)

// maxSocketPath is the longest path of a Unix socket (sun_path less its
// terminating NUL).
const maxSocketPath = 107

// Config is the device model of one domain.
type Config struct {
	// DomID is the domain the device model serves.
	DomID hypervisor.DomID
	// UUID is the VM's uuid, given to QEMU (-uuid) and its name.
	UUID string
	// RunDir holds the QMP socket, the pid file and the log of each
	// domain's device model. It is created if missing.
	RunDir string
	// Binary is the QEMU program: a path, or a name looked up in PATH.
	// Empty means DefaultBinary.
	Binary string
	// Args builds QEMU's arguments from the config and the files; nil
	// means SimArgs.
	Args func(cfg Config, f Files) []string
	// ExtraArgs are appended to what Args returns.
	ExtraArgs []string
	// ReadyTimeout bounds the wait for QMP after the launch, and the QMP
	// handshake of Adopt; StopGrace each of the waits of Stop (after the
	// QMP quit, after SIGTERM). Zero means the defaults.
	ReadyTimeout time.Duration
	StopGrace    time.Duration
}

// Files are the files of one domain's device model in the run directory.
type Files struct {
	QMP     string // the QMP socket
	PidFile string // the pid of QEMU, in decimal
	Log     string // QEMU's standard output and error
}

// Files returns the files of the domain's device model.
func (c Config) Files() Files {
	base := filepath.Join(c.RunDir, "dm-"+strconv.FormatUint(uint64(c.DomID), 10))
	return Files{QMP: base + ".qmp", PidFile: base + ".pid", Log: base + ".log"}
}

func (c Config) withDefaults() Config {
	if c.Binary == "" {
		c.Binary = DefaultBinary
	}
	if c.Args == nil {
		c.Args = SimArgs
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.DomID == 0:
		return fmt.Errorf("devicemodel: domain 0 has no device model: %w", errdefs.ErrInvalid)
	case c.RunDir == "":
		return fmt.Errorf("devicemodel: domain %d: no run directory: %w", c.DomID, errdefs.ErrInvalid)
	case len(c.Files().QMP) > maxSocketPath:
		return fmt.Errorf("devicemodel: domain %d: QMP socket path %s longer than %d bytes: %w", c.DomID,
			c.Files().QMP, maxSocketPath, errdefs.ErrInvalid)
	}
	return nil
}

// qmpArgs are the arguments of the QMP socket, shared by SimArgs and
// XenArgs.
func qmpArgs(f Files) []string {
	return []string{"-qmp", "unix:" + f.QMP + ",server=on,wait=off"}
}

// SimArgs are QEMU's arguments on the simulated host: no machine (there is
// no Xen machine type without a hypervisor), no devices, no display.
func SimArgs(c Config, f Files) []string {
	args := []string{"-machine", "none", "-nodefaults", "-nographic", "-display", "none",
		"-name", "dm-" + strconv.FormatUint(uint64(c.DomID), 10)}
	if c.UUID != "" {
		args = append(args, "-uuid", c.UUID)
	}
	return append(args, qmpArgs(f)...)
}

// XenArgs are QEMU's arguments on a real Xen host: the device model of
// domain DomID with Xen's fully virtualised machine.
func XenArgs(c Config, f Files) []string {
	args := []string{"-xen-domid", strconv.FormatUint(uint64(c.DomID), 10), "-machine", "xenfv",
		"-nodefaults", "-nographic", "-display", "none", "-no-shutdown",
		"-name", "dm-" + strconv.FormatUint(uint64(c.DomID), 10)}
	if c.UUID != "" {
		args = append(args, "-uuid", c.UUID)
	}
	return append(args, qmpArgs(f)...)
}
