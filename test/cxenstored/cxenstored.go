package cxenstored

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultBinary is where Debian 12's xen-utils-4.17 installs the C xenstored.
const DefaultBinary = "/usr/lib/xen-4.17/bin/xenstored"

// EnvBinary names the environment variable that overrides DefaultBinary,
// e.g. for a copy unpacked with `apt-get download` and `dpkg -x`.
const EnvBinary = "XENSTORED_BIN"

const (
	shimSourceName = "xs_nohv.c"
	shimLibName    = "xs_nohv.so"
	socketName     = "socket"
	pidFileName    = "xenstored.pid"
	logFileName    = "stdout.log"
	fakeProcDir    = "procxen"

	// maxSocketPath is the longest path a sockaddr_un holds (108 bytes
	// including the terminating NUL).
	maxSocketPath = 107

	startTimeout = 5 * time.Second
	pollInterval = 20 * time.Millisecond
	stopGrace    = 2 * time.Second
	killTimeout  = 5 * time.Second
	logTailBytes = 2048
	xsdKvaBytes  = 4096
)

//go:embed xs_nohv.c
var shimSource []byte

// Binary returns the xenstored executable Start runs: $XENSTORED_BIN if set,
// else DefaultBinary.
func Binary() string {
	if b := os.Getenv(EnvBinary); b != "" {
		return b
	}
	return DefaultBinary
}

// Daemon is a running C xenstored started by Start.
type Daemon struct {
	dir    string
	socket string
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned

	stopOnce sync.Once
	stopErr  error
}

// Start runs the C xenstored in dir (created if needed) and returns once its
// socket, dir/socket, accepts connections. ctx bounds only the start-up
// (compiling the shim and waiting for the socket), never the daemon's life:
// call Stop to end it. extraArgs are appended to xenstored's command line.
func Start(ctx context.Context, dir string, extraArgs ...string) (*Daemon, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cxenstored: %w", err)
	}
	socket := filepath.Join(dir, socketName)
	if len(socket) > maxSocketPath {
		return nil, fmt.Errorf("cxenstored: socket path %s is %d bytes, longer than the %d a Unix socket allows",
			socket, len(socket), maxSocketPath)
	}
	bin := Binary()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cxenstored: %w", err)
	}
	so, err := buildShim(ctx, dir)
	if err != nil {
		return nil, err
	}
	fakeDir, err := makeFakeProc(dir)
	if err != nil {
		return nil, err
	}
	pidFile := filepath.Join(dir, pidFileName)
	for _, stale := range []string{socket, pidFile} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cxenstored: %w", err)
		}
	}
	logFile, err := os.Create(filepath.Join(dir, logFileName))
	if err != nil {
		return nil, fmt.Errorf("cxenstored: %w", err)
	}
	defer logFile.Close() // the child holds its own copy

	cmd := exec.Command(bin, append([]string{"-N", "-F", pidFile}, extraArgs...)...)
	cmd.Env = append(withoutLDPreload(os.Environ()),
		"XS_FAKE_DIR="+fakeDir,
		"XENSTORED_RUNDIR="+dir,
		"LD_PRELOAD="+so,
	)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cxenstored: start %s: %w", bin, err)
	}
	d := &Daemon{dir: dir, socket: socket, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // reaps the process; the exit status is not needed
		close(d.exited)
	}()
	if err := d.waitReady(ctx); err != nil {
		_ = d.Stop()
		return nil, fmt.Errorf("cxenstored: %s in %s: %w; log tail:\n%s", bin, dir, err, d.logTail())
	}
	return d, nil
}

// SocketPath returns the Unix socket clients connect to.
func (d *Daemon) SocketPath() string { return d.socket }

// Dir returns the directory holding the socket, the pid file, the shim and
// stdout.log.
func (d *Daemon) Dir() string { return d.dir }

// PID returns the daemon's process id (also its process group id).
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Stop ends the daemon: SIGTERM to its process group, then SIGKILL if it
// has not exited within 2 seconds. It returns once the process is reaped.
// Calling Stop again does nothing and returns the first call's result.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.stop() })
	return d.stopErr
}

func (d *Daemon) stop() error {
	pgid := d.cmd.Process.Pid
	if d.hasExited() {
		return nil
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cxenstored: SIGTERM pid %d: %w", pgid, err)
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(stopGrace):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cxenstored: SIGKILL pid %d: %w", pgid, err)
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(killTimeout):
		return fmt.Errorf("cxenstored: pid %d still running %s after SIGKILL", pgid, killTimeout)
	}
}

func (d *Daemon) hasExited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// waitReady polls until the socket accepts a connection, the daemon exits,
// ctx ends or startTimeout passes.
func (d *Daemon) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(d.socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			conn, err := net.DialTimeout("unix", d.socket, time.Second)
			if err == nil {
				return conn.Close()
			}
		}
		select {
		case <-d.exited:
			return fmt.Errorf("exited during start-up (%v)", d.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("socket %s not ready: %w", d.socket, ctx.Err())
		case <-tick.C:
		}
	}
}

// logTail returns the end of stdout.log.
func (d *Daemon) logTail() string {
	b, err := os.ReadFile(filepath.Join(d.dir, logFileName))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return string(b)
}

// buildShim writes the embedded shim source into dir and compiles it to
// dir/xs_nohv.so unless the library is already newer than the source. The
// source file is rewritten only when its content differs, so its mtime
// marks the last change.
func buildShim(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, shimSourceName)
	so := filepath.Join(dir, shimLibName)
	if old, err := os.ReadFile(src); err != nil || !bytes.Equal(old, shimSource) {
		if err := os.WriteFile(src, shimSource, 0o644); err != nil {
			return "", fmt.Errorf("cxenstored: %w", err)
		}
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("cxenstored: %w", err)
	}
	if soInfo, err := os.Stat(so); err == nil && soInfo.ModTime().After(srcInfo.ModTime()) {
		return so, nil
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("cxenstored: need gcc to build the shim (apt-get install gcc): %w", err)
	}
	tmp := so + ".tmp"
	out, err := exec.CommandContext(ctx, gcc, "-shared", "-fPIC", "-O2", "-o", tmp, src, "-ldl").CombinedOutput()
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("cxenstored: gcc %s: %w\n%s", src, err, out)
	}
	if err := os.Rename(tmp, so); err != nil {
		return "", fmt.Errorf("cxenstored: %w", err)
	}
	return so, nil
}

// makeFakeProc creates dir/procxen with the xsd_port and xsd_kva files the
// shim substitutes for /proc/xen/xsd_port and /proc/xen/xsd_kva.
func makeFakeProc(dir string) (string, error) {
	fake := filepath.Join(dir, fakeProcDir)
	if err := os.MkdirAll(fake, 0o755); err != nil {
		return "", fmt.Errorf("cxenstored: %w", err)
	}
	if err := os.WriteFile(filepath.Join(fake, "xsd_port"), []byte("1\n"), 0o644); err != nil {
		return "", fmt.Errorf("cxenstored: %w", err)
	}
	kva := filepath.Join(fake, "xsd_kva")
	if err := os.Remove(kva); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("cxenstored: %w", err)
	}
	if err := os.WriteFile(kva, make([]byte, xsdKvaBytes), 0o644); err != nil {
		return "", fmt.Errorf("cxenstored: %w", err)
	}
	return fake, nil
}

// withoutLDPreload drops any inherited LD_PRELOAD so only the shim is
// preloaded.
func withoutLDPreload(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if len(kv) >= len("LD_PRELOAD=") && kv[:len("LD_PRELOAD=")] == "LD_PRELOAD=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
