// Package emuproc has what the per-domain emulator processes (QEMU as the
// device model, DEMU per vGPU) share: their pid files, the check that a
// live pid is the emulator it is said to be before it is adopted, signals
// to their session, and the end of their log for error messages.
package emuproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// WritePidFile writes pid and its start time (process.StartTime) to path
// atomically, so that an adoption can tell the process from a later one
// that got the same pid.
func WritePidFile(path string, pid int) error {
	start, err := process.StartTime(pid)
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	tmp := path + ".tmp"
	line := strconv.Itoa(pid) + " " + strconv.FormatUint(start, 10) + "\n"
	if err := os.WriteFile(tmp, []byte(line), 0o600); err != nil {
		return fmt.Errorf("pid file: %w", FileErr(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pid file: %w", FileErr(err))
	}
	return nil
}

// ReadPidFile reads the pid and start time WritePidFile wrote; a file
// with a pid alone gives start time 0 (not checked).
func ReadPidFile(path string) (pid int, start uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("pid file: %w", FileErr(err))
	}
	fields := strings.Fields(string(b))
	bad := fmt.Errorf("pid file %s: %q is not a pid and a start time: %w", path, bytes.TrimSpace(b), errdefs.ErrInvalid)
	if len(fields) == 0 || len(fields) > 2 {
		return 0, 0, bad
	}
	if pid, err = strconv.Atoi(fields[0]); err != nil || pid <= 0 {
		return 0, 0, bad
	}
	if len(fields) == 2 {
		if start, err = strconv.ParseUint(fields[1], 10, 64); err != nil {
			return 0, 0, bad
		}
	}
	return pid, start, nil
}

// CheckProcess checks that pid is alive, started at start (unless 0),
// runs binary and has arg in its command line (its control socket's
// argument): what names it in errors. A pid that fails is
// errdefs.ErrNotFound, never to be signalled.
func CheckProcess(pid int, start uint64, binary string, arg []byte, what string) error {
	if !Alive(pid) {
		return fmt.Errorf("pid %d is gone: %w", pid, errdefs.ErrNotFound)
	}
	if now, err := process.StartTime(pid); err != nil || (start != 0 && now != start) {
		return fmt.Errorf("pid %d is another process than the one recorded (started at %d, not %d): %w", pid, now,
			start, errdefs.ErrNotFound)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fmt.Errorf("pid %d: %w", pid, FileErr(err))
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
		return fmt.Errorf("pid %d: %w", pid, FileErr(err))
	}
	if !bytes.Contains(cmdline, arg) {
		return fmt.Errorf("pid %d is not %s: %w", pid, what, errdefs.ErrNotFound)
	}
	return nil
}

// Alive reports whether pid runs (exists and is not a zombie).
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// Tail returns the end of the log at path, for an error message.
func Tail(path string) string {
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

// FileErr wraps a file error with its errdefs kind.
func FileErr(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%v: %w", err, errdefs.ErrNotFound)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%v: %w", err, errdefs.ErrPermission)
	}
	return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
}

// Signal sends sig to the session led by pid (the emulator and its
// children; it leads its own, Setsid), or to pid alone, unless done is
// closed: the process ended.
func Signal(pid int, done <-chan struct{}, sig syscall.Signal) {
	select {
	case <-done:
		return
	default:
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = syscall.Kill(pid, sig)
	}
}

// WaitDone waits at most grace, or until ctx ends, for done; it reports
// whether done closed.
func WaitDone(ctx context.Context, done <-chan struct{}, grace time.Duration) bool {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// Stop ends the emulator pid: QMP quit on q (if not nil), then SIGTERM to
// its session after grace, then SIGKILL after another, and waits for done
// (bounded by ctx, whose error it returns). One that ended already is not
// an error.
func Stop(ctx context.Context, q *qmp.Client, pid int, done <-chan struct{}, grace time.Duration) error {
	if q != nil {
		qctx, cancel := context.WithTimeout(ctx, grace)
		_, _ = q.Execute(qctx, "quit", nil)
		cancel()
	}
	if WaitDone(ctx, done, grace) {
		return nil
	}
	Signal(pid, done, syscall.SIGTERM)
	if WaitDone(ctx, done, grace) {
		return nil
	}
	Signal(pid, done, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
