package fileplugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// lock takes volume key's lock (<key>.lock, flock), waiting for another
// process holding it. The lock file lives as long as the volume: create
// makes it (for a new key), and without it the volume does not exist
// (errdefs.ErrNotFound). A destroy unlinks it while holding it, so a lock
// taken on an unlinked file is dropped and taken again.
func (s *SR) lock(key string, create bool) (unlock func(), err error) {
	p := s.path(key, ".lock")
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	for {
		f, err := os.OpenFile(p, flags, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("volume %s: %w", key, errdefs.ErrNotFound)
		} else if err != nil {
			return nil, fsError("lock", key, err)
		}
		if err := flock(f); err != nil {
			_ = f.Close()
			return nil, fsError("lock", key, err)
		}
		var held, now syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &held); err != nil {
			_ = f.Close()
			return nil, fsError("lock", key, err)
		}
		if err := syscall.Stat(p, &now); err == nil && now.Ino == held.Ino && now.Dev == held.Dev {
			return func() { _ = f.Close() }, nil
		}
		_ = f.Close() // unlinked by a destroy meanwhile
	}
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			if err != nil {
				return fmt.Errorf("flock: %w", err)
			}
			return nil
		}
	}
}
