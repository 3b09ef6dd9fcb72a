package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// pidFileVersion is the version of the pid file's record.
const pidFileVersion = 1

// pidRecord is the content of <run>/<name>.pid.
type pidRecord struct {
	Version   int      `json:"version"`
	Pid       int      `json:"pid"`
	StartTime uint64   `json:"start_time"` // field 22 of /proc/<pid>/stat, in clock ticks since boot
	Exe       string   `json:"exe"`        // the resolved executable
	Args      []string `json:"args"`       // the arguments after argv[0]
}

// same reports whether r and o name the same process.
func (r pidRecord) same(o pidRecord) bool {
	return r.Pid == o.Pid && r.StartTime == o.StartTime && r.Exe == o.Exe && slices.Equal(r.Args, o.Args)
}

// writePidFile writes rec to path atomically (a temporary file renamed).
func writePidFile(path string, rec pidRecord) error {
	rec.Version = pidFileVersion
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return nil
}

// readPidFile reads the record at path: errdefs.ErrNotFound when there is
// none, errdefs.ErrInvalid when it cannot be parsed.
func readPidFile(path string) (pidRecord, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return pidRecord{}, fmt.Errorf("pid file %s: %w", path, errdefs.ErrNotFound)
	}
	if err != nil {
		return pidRecord{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	var rec pidRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return pidRecord{}, fmt.Errorf("pid file %s: %v: %w", path, err, errdefs.ErrInvalid)
	}
	if rec.Version != pidFileVersion || rec.Pid <= 0 {
		return pidRecord{}, fmt.Errorf("pid file %s: version %d, pid %d: %w", path, rec.Version, rec.Pid, errdefs.ErrInvalid)
	}
	return rec, nil
}

// removePidFileIf removes the pid file at path if it still names rec's
// process: a newer process's pid file is kept.
func removePidFileIf(path string, rec pidRecord) {
	cur, err := readPidFile(path)
	if err != nil || !cur.same(rec) {
		return
	}
	_ = os.Remove(path)
}

// pidFilePath returns the pid file of daemon name under run.
func pidFilePath(run, name string) string { return filepath.Join(run, name+".pid") }
