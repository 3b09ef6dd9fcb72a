package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The default limits of a call.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultMaxOutputBytes = 1 << 20
)

// readGrace bounds the wait for a call's output pipes to close once its
// process group was killed: a process that left the group (setsid) may
// still hold them.
const readGrace = time.Second

// snippetBytes is how much of a broken plugin's stdout and stderr an error
// quotes.
const snippetBytes = 256

// Error is the error of a call that failed. It wraps the errdefs value of
// its kind: the plugin's code for a plugin error, else errdefs.ErrTimeout
// (the call timed out), errdefs.ErrResourceExhausted (it printed too
// much), errdefs.ErrNotImplemented (the plugin has no such call),
// errdefs.ErrCanceled or the context's error, or errdefs.ErrUnavailable (it
// crashed, or replied no JSON).
type Error struct {
	Plugin string // the plugin directory
	Call   string // "Volume.create", ...
	// Code is the plugin's code when the plugin reported the error itself,
	// else "".
	Code    string
	Message string
	kind    error
}

// Error returns "storage plugin <dir>: <call>: <message>".
func (e *Error) Error() string {
	msg := e.Message
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	return fmt.Sprintf("storage plugin %s: %s: %s", e.Plugin, e.Call, msg)
}

// Unwrap returns the errdefs value (or context error) of the error's kind.
func (e *Error) Unwrap() error { return e.kind }

// call runs one plugin executable: args as JSON on stdin, the reply
// decoded from stdout into reply (nil accepts empty output or any JSON).
func call(ctx context.Context, dir, fn string, o options, args any, reply any) error {
	fail := func(kind error, format string, a ...any) error {
		return &Error{Plugin: dir, Call: fn, Message: fmt.Sprintf(format, a...), kind: kind}
	}
	exe := filepath.Join(dir, fn)
	if fi, err := os.Stat(exe); errors.Is(err, fs.ErrNotExist) {
		return fail(errdefs.ErrNotImplemented, "the plugin has no %s", fn)
	} else if err != nil {
		return fail(errdefs.ErrUnavailable, "%v", err)
	} else if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fail(errdefs.ErrUnavailable, "%s is not an executable file", exe)
	}
	in, err := json.Marshal(args)
	if err != nil {
		return fail(errdefs.ErrInvalid, "encode the arguments: %v", err)
	}
	res, err := execute(ctx, exe, in, o)
	if err != nil {
		return fail(errdefs.ErrUnavailable, "run: %v", err)
	}
	switch {
	case res.overflow:
		return fail(errdefs.ErrResourceExhausted, "printed more than %d bytes: killed", o.maxOutput)
	case ctx.Err() != nil:
		return fail(ctx.Err(), "%v: killed", ctx.Err())
	case res.timedOut:
		return fail(errdefs.ErrTimeout, "did not finish within %s: killed", o.timeout)
	}
	ws, _ := res.state.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return fail(errdefs.ErrUnavailable, "killed by signal %v; stderr %s", ws.Signal(), snippet(res.stderr))
	}
	if code := res.state.ExitCode(); code != 0 {
		var pe PluginError
		if err := json.Unmarshal(res.stdout, &pe); err == nil && (pe.Code != "" || pe.Message != "") {
			kind := errdefs.FromKind(pe.Code)
			if kind == nil {
				kind = errdefs.ErrUnavailable
			}
			return &Error{Plugin: dir, Call: fn, Code: pe.Code, Message: pe.Message, kind: kind}
		}
		return fail(errdefs.ErrUnavailable, "exited with status %d and no JSON error; stdout %s; stderr %s", code,
			snippet(res.stdout), snippet(res.stderr))
	}
	if reply == nil && len(bytes.TrimSpace(res.stdout)) == 0 {
		return nil
	}
	var dst any = reply
	if dst == nil {
		dst = new(json.RawMessage)
	}
	if err := json.Unmarshal(res.stdout, dst); err != nil {
		return fail(errdefs.ErrUnavailable, "the reply is not the JSON expected: %v; stdout %s", err,
			snippet(res.stdout))
	}
	return nil
}

// snippet quotes the start of b for an error message.
func snippet(b []byte) string {
	if len(b) > snippetBytes {
		return strconv.Quote(string(b[:snippetBytes])) + "..."
	}
	return strconv.Quote(string(b))
}

// result is what a plugin process did.
type result struct {
	stdout, stderr []byte
	state          *os.ProcessState
	timedOut       bool
	overflow       bool
}

// execute runs exe in a process group of its own with in on stdin, within
// o.timeout and ctx, keeping at most o.maxOutput bytes of stdout and of
// stderr: past either limit, or when ctx ends, the group is killed. Once
// the process exited the group is killed anyway, so nothing it started is
// left; the process is always reaped.
func execute(ctx context.Context, exe string, in []byte, o options) (result, error) {
	var res result
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	defer closeAll()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return res, err
	}
	outR, outW, err := pipe()
	if err != nil {
		return res, err
	}
	errR, errW, err := pipe()
	if err != nil {
		return res, err
	}
	cmd := exec.Command(exe)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	// The child holds its ends now.
	_, _, _ = inR.Close(), outW.Close(), errW.Close()
	pgid := cmd.Process.Pid
	kill := func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

	go func() {
		// A plugin that does not read its arguments makes this fail; the
		// write end is closed either way, with the call.
		_, _ = inW.Write(in)
		_ = inW.Close()
	}()
	var overflow atomic.Bool
	onOverflow := func() { overflow.Store(true); kill() }
	var outBuf, errBuf bytes.Buffer
	var readers sync.WaitGroup
	readers.Go(func() { readCapped(outR, &outBuf, o.maxOutput, onOverflow) })
	readers.Go(func() { readCapped(errR, &errBuf, o.maxOutput, onOverflow) })

	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	exited := make(chan struct{})
	var timedOut atomic.Bool
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-tctx.Done():
			timedOut.Store(true)
			kill()
		case <-exited:
		}
	})
	_ = cmd.Wait() // the exit status is in ProcessState
	close(exited)
	watcher.Wait()
	kill()
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(readGrace):
		_, _ = outR.Close(), errR.Close()
		<-done
	}
	res.stdout, res.stderr = outBuf.Bytes(), errBuf.Bytes()
	res.state, res.timedOut, res.overflow = cmd.ProcessState, timedOut.Load(), overflow.Load()
	return res, nil
}

// readCapped reads r into buf until EOF; past max bytes it calls
// onOverflow once and drains the rest without keeping it.
func readCapped(r io.Reader, buf *bytes.Buffer, maxBytes int, onOverflow func()) {
	n, _ := io.Copy(buf, io.LimitReader(r, int64(maxBytes)+1))
	if n > int64(maxBytes) {
		buf.Truncate(maxBytes)
		onOverflow()
		_, _ = io.Copy(io.Discard, r)
	}
}
