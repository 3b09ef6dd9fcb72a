package xsbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/test/cxenstored"
)

// Target is a daemon under test.
type Target struct {
	// Name is short ("ours", "c"); Desc says what runs and how.
	Name, Desc string
	// Socket is the daemon's Unix socket.
	Socket string
	Dial   Dialer
	// CPU meters the daemon's process, nil when unknown (a daemon in this
	// process or one only attached to).
	CPU  CPUMeter
	stop func() error
}

// Close stops the daemon if this Target started it.
func (t *Target) Close() error {
	if t == nil || t.stop == nil {
		return nil
	}
	stop := t.stop
	t.stop = nil
	return stop()
}

// Attach returns a Target for a daemon already listening on socket; Close
// leaves it running.
func Attach(name, desc, socket string) *Target {
	return &Target{Name: name, Desc: desc + " at " + socket, Socket: socket, Dial: SocketDialer(socket)}
}

// maxSocketPath is the longest path a sockaddr_un holds.
const maxSocketPath = 107

// tempDir makes a directory whose "socket" fits a sockaddr_un.
func tempDir() (string, error) {
	for _, parent := range []string{os.TempDir(), "/tmp"} {
		if len(filepath.Join(parent, "xsbench0123456789", "socket")) > maxSocketPath {
			continue
		}
		return os.MkdirTemp(parent, "xsbench")
	}
	return "", errors.New("xsbench: no temporary directory short enough for a Unix socket path")
}

// InProcess starts the project's xenstored in this process on a temporary
// socket. It shares the Go runtime (and the CPUs' scheduler) with the load
// generator, so prefer StartProcess for comparisons with the C daemon.
func InProcess() (*Target, error) {
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "socket")
	l, err := xenstored.Listen(sock)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	srv := xenstored.New(xenstored.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	return &Target{
		Name: "ours", Desc: "xenstored.Server in process", Socket: sock, Dial: SocketDialer(sock),
		stop: func() error {
			err := srv.Close()
			<-served
			os.RemoveAll(dir)
			return err
		},
	}, nil
}

// DaemonPackage is the command StartProcess runs, built by BuildDaemon.
const DaemonPackage = "./cmd/xenactor-xenstored"

// BuildDaemon builds DaemonPackage with the go command into
// <module root>/bin/xenactor-xenstored and returns that path. The module
// root is the one of the current directory.
func BuildDaemon(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("xsbench: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("xsbench: not inside the xenactor module; run from its root or pass the daemon binary: %w", errdefs.ErrNotFound)
	}
	root := filepath.Dir(gomod)
	bin := filepath.Join(root, "bin", "xenactor-xenstored")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, DaemonPackage)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("xsbench: go build %s: %w\n%s", DaemonPackage, err, out)
	}
	return bin, nil
}

// processStartTimeout bounds waiting for a started daemon's socket.
const processStartTimeout = 10 * time.Second

// StartProcess runs the xenactor-xenstored binary bin as a separate process
// on a temporary socket and returns once the socket answers. Close sends
// SIGTERM (SIGKILL after five seconds) and waits for the process.
func StartProcess(ctx context.Context, bin string) (*Target, error) {
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "socket")
	logf, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-socket", sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("xsbench: start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() error {
		defer os.RemoveAll(dir)
		select {
		case <-exited:
			return nil
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return nil
		case <-time.After(5 * time.Second):
		}
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("xsbench: %s ignored SIGTERM; killed", bin)
	}
	wctx, cancel := context.WithTimeout(ctx, processStartTimeout)
	defer cancel()
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			c, err := xenstore.Dial(wctx, sock)
			if err == nil {
				c.Close()
				break
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
			stop()
			return nil, fmt.Errorf("xsbench: %s exited during start-up: %s", bin, bytes.TrimSpace(log))
		case <-wctx.Done():
			stop()
			return nil, fmt.Errorf("xsbench: %s: socket not ready: %w", bin, wctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return &Target{
		Name:   "ours",
		Desc:   fmt.Sprintf("%s, separate process (pid %d)", filepath.Base(bin), cmd.Process.Pid),
		Socket: sock, Dial: SocketDialer(sock), CPU: ProcessCPU(cmd.Process.Pid), stop: stop,
	}, nil
}

// StartC starts Debian's C xenstored with test/cxenstored in a temporary
// directory. When the binary or gcc is missing the error wraps
// errdefs.ErrNotFound.
func StartC(ctx context.Context) (*Target, error) {
	bin := cxenstored.Binary()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("xsbench: C xenstored %s not installed (Debian package xen-utils-4.17): %w", bin, errdefs.ErrNotFound)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		return nil, fmt.Errorf("xsbench: gcc, needed for the C xenstored's shim, not installed: %w", errdefs.ErrNotFound)
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	d, err := cxenstored.Start(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Target{
		Name:   "c",
		Desc:   fmt.Sprintf("C xenstored %s, separate process (pid %d)", bin, d.PID()),
		Socket: d.SocketPath(), Dial: SocketDialer(d.SocketPath()), CPU: ProcessCPU(d.PID()),
		stop: func() error {
			err := d.Stop()
			os.RemoveAll(dir)
			return err
		},
	}, nil
}
