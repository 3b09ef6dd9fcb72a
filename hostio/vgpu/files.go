package vgpu

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// removeFiles removes the socket and pid file, and the log, config and
// state file too if all.
func removeFiles(f Files, all bool) {
	_ = os.Remove(f.Control)
	_ = os.Remove(f.PidFile)
	if all {
		_ = os.Remove(f.Log)
		_ = os.Remove(f.Config)
		_ = os.Remove(f.State)
	}
}

// writePidFile writes pid to path atomically.
func writePidFile(path string, pid int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return fmt.Errorf("pid file: %w", fileErr(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pid file: %w", fileErr(err))
	}
	return nil
}

func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", fileErr(err))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is not a pid: %w", path, bytes.TrimSpace(b), errdefs.ErrInvalid)
	}
	return pid, nil
}

// checkProcess checks that pid is alive, runs binary and has sock on its
// command line.
func checkProcess(pid int, binary, sock string) error {
	if !alive(pid) {
		return fmt.Errorf("pid %d is gone: %w", pid, errdefs.ErrNotFound)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fmt.Errorf("pid %d: %w", pid, fileErr(err))
	}
	exe = strings.TrimSuffix(exe, " (deleted)") // upgraded under it
	want, err := exec.LookPath(binary)
	if err == nil {
		if w, err := filepath.EvalSymlinks(want); err == nil {
			want = w
		}
	}
	if err != nil || (exe != want && filepath.Base(exe) != filepath.Base(want)) {
		return fmt.Errorf("pid %d runs %s, not %s: %w", pid, exe, binary, errdefs.ErrNotFound)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Errorf("pid %d: %w", pid, fileErr(err))
	}
	if !bytes.Contains(cmdline, []byte("--control="+sock+"\x00")) {
		return fmt.Errorf("pid %d is not the DEMU with socket %s: %w", pid, sock, errdefs.ErrNotFound)
	}
	return nil
}

// alive reports whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// tail returns the end of the log, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return "no output"
	}
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return fmt.Sprintf("its output: %q", b)
}

func fileErr(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%v: %w", err, errdefs.ErrNotFound)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%v: %w", err, errdefs.ErrPermission)
	}
	return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
}
