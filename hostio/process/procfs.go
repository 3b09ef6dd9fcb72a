package process

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// procRoot is where procfs is mounted.
const procRoot = "/proc"

// procStat is what xenactor reads of /proc/<pid>/stat.
type procStat struct {
	State     byte   // field 3: R, S, D, Z, ...
	StartTime uint64 // field 22: start time in clock ticks after boot
}

// readStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("pid %d: %v: %w", pid, err, errdefs.ErrNotFound)
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("pid %d: stat %q: %w", pid, data, errdefs.ErrInvalid)
	}
	// Fields from 3 on.
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("pid %d: stat has %d fields: %w", pid, len(fields)+2, errdefs.ErrInvalid)
	}
	start, err := strconv.ParseUint(fields[22-3], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("pid %d: start time: %v: %w", pid, err, errdefs.ErrInvalid)
	}
	return procStat{State: fields[0][0], StartTime: start}, nil
}

// readExe returns the executable of pid, without the " (deleted)" the
// kernel appends when the file was replaced since (an upgraded package).
func readExe(pid int) (string, error) {
	exe, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "exe"))
	if err != nil {
		return "", fmt.Errorf("pid %d: executable: %v: %w", pid, err, errdefs.ErrNotFound)
	}
	return strings.TrimSuffix(exe, " (deleted)"), nil
}

// readArgs returns the arguments of pid after argv[0].
func readArgs(pid int) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil, fmt.Errorf("pid %d: command line: %v: %w", pid, err, errdefs.ErrNotFound)
	}
	data = bytes.TrimSuffix(data, []byte{0})
	if len(data) == 0 {
		return nil, nil
	}
	args := strings.Split(string(data), "\x00")
	return args[1:], nil
}

// StartTime returns when pid started, in clock ticks after boot (field 22
// of /proc/<pid>/stat): with the pid, it names one process across pid
// reuse. A pid that is gone is errdefs.ErrNotFound.
func StartTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return st.StartTime, nil
}
