package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// DefaultLogMaxBytes caps a domain's log when Config.LogMaxBytes is 0.
const DefaultLogMaxBytes = 1 << 20

// LogName is the name of domain domid's log in the log directory,
// xenconsoled's: guest-<domid>.log. The previous one, once the log reached
// its cap, is guest-<domid>.log.1.
func LogName(domid uint32) string {
	return "guest-" + strconv.FormatUint(uint64(domid), 10) + ".log"
}

// logFile is a domain's log: appended to, and rotated once it would grow
// past max bytes (the full file becomes <name>.1, replacing the previous
// one), so a guest printing without end costs at most twice max on disk.
// Its file is open only while the guest prints: release closes it, and
// the next Write opens it again, so an idle console holds no descriptor.
type logFile struct {
	path string
	max  int64
	f    *os.File // nil while released
	size int64
}

// openLog opens (appending) the log at path.
func openLog(path string, max int64) (*logFile, error) {
	if max <= 0 {
		max = DefaultLogMaxBytes
	}
	l := &logFile{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return fmt.Errorf("console: log directory: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("console: opening the log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("console: the log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends b, rotating first when b would take the log past its cap.
// A single write larger than the cap keeps its tail.
func (l *logFile) Write(b []byte) (int, error) {
	if l.f == nil {
		if err := l.open(); err != nil {
			return 0, err
		}
	}
	n := len(b)
	if int64(len(b)) > l.max {
		b = b[int64(len(b))-l.max:]
	}
	if l.size+int64(len(b)) > l.max && l.size > 0 {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	m, err := l.f.Write(b)
	l.size += int64(m)
	if err != nil {
		return m, fmt.Errorf("console: writing the log: %w", err)
	}
	return n, nil
}

// release closes the file until the next Write; its size is read again
// then, so a log moved away meanwhile starts afresh.
func (l *logFile) release() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// rotate moves the log to <path>.1 and starts a new one.
func (l *logFile) rotate() error {
	err := l.f.Close()
	l.f = nil
	if rerr := os.Rename(l.path, l.path+".1"); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if oerr := l.open(); oerr != nil {
		return errors.Join(err, oerr)
	}
	if err != nil {
		return fmt.Errorf("console: rotating the log: %w", err)
	}
	return nil
}

// Close closes the log.
func (l *logFile) Close() error { return l.release() }
