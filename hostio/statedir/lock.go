package statedir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// lockName is the file in the state directory that the holder flocks.
const lockName = ".lock"

// lockDir takes the exclusive lock of dir and records this process's pid in
// the lock file. flock locks belong to the open file description, so a
// second lockDir of the same dir fails even within one process, and the
// kernel drops the lock when the holder's descriptor is closed or the
// holder dies. os.OpenFile sets O_CLOEXEC, so the processes the daemon
// starts (device models, helpers) do not inherit the lock and keep it after
// the daemon has gone.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	// No O_TRUNC: the pid in the file belongs to the holder until we hold it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("statedir %s: open lock: %w", dir, err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("statedir %s: locked by %s: %w", dir, holder(f), errdefs.ErrBusy)
		}
		return nil, fmt.Errorf("statedir %s: lock: %w", dir, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("statedir %s: write lock: %w", dir, err)
	}
	if _, err := f.WriteAt(pid, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("statedir %s: write lock: %w", dir, err)
	}
	return f, nil
}

// flock is flock(2), retried when a signal interrupts it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// holder describes the process holding the lock, from the pid it wrote.
// The holder may not have written it yet, or may be between truncating and
// writing, so an unreadable pid is reported, not treated as an error.
func holder(f *os.File) string {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return "another process (pid unknown)"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "another process (pid unknown)"
	}
	return "pid " + strconv.Itoa(pid)
}
