package daemons

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultXenconsoledName is the name of the xenconsoled daemon (its pid
// file and log in the Manager's run directory).
const DefaultXenconsoledName = "xenconsoled"

// DefaultXenconsoledPaths are where Xen's packages install xenconsoled
// when it is not in PATH: Debian's xen-utils-4.17, then upstream's
// default prefix.
var DefaultXenconsoledPaths = []string{"/usr/lib/xen-4.17/bin/xenconsoled", "/usr/lib/xen/bin/xenconsoled",
	"/usr/sbin/xenconsoled"}

// XenconsoledConfig is Xen's console daemon on a Xen host: it serves the
// guests' PV consoles (the rings and event channels their homes' console
// keys name) and logs each guest's output in LogDir as
// guest-<name>.log.
type XenconsoledConfig struct {
	Program string // the executable; "" looks it up (LookupXenconsoled)
	Name    string // the daemon's name; "" is DefaultXenconsoledName
	// LogDir receives the guests' console logs; required.
	LogDir string
	// Xenstored, if set, is the socket of the host's xenstored, for a
	// xenstored that is not at libxenstore's default path.
	Xenstored string
}

// LookupXenconsoled returns the xenconsoled executable: in PATH, else the
// first of DefaultXenconsoledPaths that exists.
func LookupXenconsoled() (string, error) {
	if p, err := exec.LookPath("xenconsoled"); err == nil {
		return p, nil
	}
	for _, p := range DefaultXenconsoledPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("xenconsoled: not in PATH nor in %v (Debian's xen-utils): %w", DefaultXenconsoledPaths,
		errdefs.ErrNotFound)
}

// Xenconsoled returns the Config of xenconsoled's daemon actor: it runs in
// the foreground (-i), so that the Manager owns its pid file
// (<run>/<name>.pid, the one adopted after a restart of xenactord) rather
// than xenconsoled's own daemonising, with --log=guest and
// --log-dir=LogDir. It has no socket to probe: running is ready. The
// caller may set the other fields (Backoff, Notify, ...) before spawning
// the actor.
func Xenconsoled(m *process.Manager, xc XenconsoledConfig) (Config, error) {
	if xc.Name == "" {
		xc.Name = DefaultXenconsoledName
	}
	if xc.LogDir == "" {
		return Config{}, fmt.Errorf("xenconsoled: no log directory: %w", errdefs.ErrInvalid)
	}
	if xc.Program == "" {
		p, err := LookupXenconsoled()
		if err != nil {
			return Config{}, err
		}
		xc.Program = p
	}
	logDir, err := filepath.Abs(xc.LogDir)
	if err != nil {
		return Config{}, fmt.Errorf("xenconsoled: %w", err)
	}
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		return Config{}, fmt.Errorf("xenconsoled: %w", err)
	}
	spec := process.Spec{Name: xc.Name, Path: xc.Program,
		Args: []string{"-i", "--log=guest", "--log-dir=" + logDir}}
	if xc.Xenstored != "" {
		spec.Env = append(os.Environ(), "XENSTORED_PATH="+xc.Xenstored)
	}
	return Config{Manager: m, Spec: spec}, nil
}
