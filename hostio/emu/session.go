package emu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tailbuf"
)

// The defaults of Config's durations.
const (
	DefaultStepTimeout = 300 * time.Second
	DefaultAbortGrace  = 2 * time.Second
)

// stderrTailBytes is how much of the helper's stderr errors quote.
const stderrTailBytes = 2048

// Config is a helper to run.
type Config struct {
	// Path is the executable; Args its arguments.
	Path string
	Args Args
	// Argv, if not nil, are the arguments instead of Args', and Name
	// what errors call the helper (with its pid) instead of
	// "emu-manager <mode>": a domain build runs xenguest this way.
	Argv []string
	Name string
	// Image, if set, is passed as descriptor ImageFD (Args.ImageFD is
	// set to it).
	Image *os.File
	// StepTimeout bounds each wait for a message (an info line that
	// reports more progress than before restarts it, so a step takes at
	// most 101 times StepTimeout), the exit after the result, and each
	// write of a command.
	StepTimeout time.Duration
	// AbortGrace is how long Close waits for the helper to exit after
	// abort before it kills the process group.
	AbortGrace time.Duration
	// OnInfo, if set, sees every info line.
	OnInfo func(Message)
}

// Session is a running helper. Its methods are for one goroutine.
type Session struct {
	cfg    Config
	cmd    *exec.Cmd
	name   string
	in     *os.File // the helper's stdin, our end
	out    *os.File // the helper's stdout, our end
	lines  chan line
	read   chan struct{} // closed when the reader ends
	exited chan struct{} // closed when the helper is reaped
	stderr *tailbuf.Buffer
	once   sync.Once
	// progress is the highest progress the helper reported, -1 before any.
	progress float64
}

// line is one line the reader read, or why it stopped.
type line struct {
	text string
	err  error
}

// Start starts the helper in its own process group, its stdin and stdout
// the control channel. Close must be called.
func Start(cfg Config) (*Session, error) {
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = DefaultStepTimeout
	}
	if cfg.AbortGrace <= 0 {
		cfg.AbortGrace = DefaultAbortGrace
	}
	args := cfg.Args
	if cfg.Image != nil {
		args.ImageFD = ImageFD
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("emu: pipe: %w: %w", err, errdefs.ErrUnavailable)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("emu: pipe: %w: %w", err, errdefs.ErrUnavailable)
	}
	s := &Session{cfg: cfg, in: inW, out: outR, lines: make(chan line, 16), read: make(chan struct{}),
		exited: make(chan struct{}), stderr: &tailbuf.Buffer{Max: stderrTailBytes}, progress: -1}
	argv := args.Argv()
	if cfg.Argv != nil {
		argv = cfg.Argv
	}
	s.cmd = exec.Command(cfg.Path, argv...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = inR, outW, s.stderr
	if cfg.Image != nil {
		s.cmd.ExtraFiles = []*os.File{cfg.Image}
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A descendant holding stderr open does not hold up the reaping.
	s.cmd.WaitDelay = cfg.AbortGrace
	err = s.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("emu: start %s: %w: %w", cfg.Path, err, kindOf(err))
	}
	name := cfg.Name
	if name == "" {
		name = "emu-manager " + string(args.Mode)
	}
	s.name = fmt.Sprintf("%s (pid %d)", name, s.cmd.Process.Pid)
	go s.readLines()
	go s.reap()
	return s, nil
}

// kindOf is the errdefs kind of a failed start.
func kindOf(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errdefs.ErrNotFound
	case errors.Is(err, os.ErrPermission):
		return errdefs.ErrPermission
	}
	return errdefs.ErrUnavailable
}

// readLines sends the helper's lines to s.lines until its stdout ends or a
// line is too long, then closes it.
func (s *Session) readLines() {
	defer close(s.read)
	defer close(s.lines)
	r := bufio.NewReaderSize(s.out, MaxLineBytes)
	for {
		b, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			s.lines <- line{err: fmt.Errorf("%s: a line longer than %d bytes: %w", s.name, MaxLineBytes,
				errdefs.ErrInvalid)}
			return
		case len(b) > 0:
			s.lines <- line{text: strings.TrimSuffix(string(b), "\n")}
		}
		if err != nil {
			return
		}
	}
}

// reap waits for the helper to exit, kills what is left of its process
// group while the helper, not reaped yet, still holds the group's id, then
// reaps it.
func (s *Session) reap() {
	pid := s.cmd.Process.Pid
	waitExited(pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	close(s.exited)
}

// waitExited blocks until process pid exited, without reaping it
// (waitid with WNOWAIT).
func waitExited(pid int) {
	const pPID, wNoWait = 1, 0x01000000
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info)),
			syscall.WEXITED|wNoWait, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}

// Receive returns the helper's next message that is not info (info lines
// go to OnInfo). A helper that prints nothing but info lines that report
// no new progress within StepTimeout is errdefs.ErrTimeout; one that ends its output (exits) is
// errdefs.ErrUnavailable; a line that is not the protocol is
// errdefs.ErrInvalid; an error: line is returned as a Message.
func (s *Session) Receive(ctx context.Context) (Message, error) {
	timer := time.NewTimer(s.cfg.StepTimeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return Message{}, s.ended("exited without a result")
			}
			if l.err != nil {
				return Message{}, l.err
			}
			m, err := ParseMessage(l.text)
			if err != nil {
				return Message{}, fmt.Errorf("%s: %w", s.name, err)
			}
			if m.Kind != KindInfo {
				return m, nil
			}
			if s.cfg.OnInfo != nil {
				s.cfg.OnInfo(m)
			}
			// Only progress restarts the timeout: a helper that chatters
			// without advancing stalls all the same.
			if p, ok := ProgressOf(m); ok && p > s.progress {
				s.progress = p
				timer.Reset(s.cfg.StepTimeout)
			}
		case <-timer.C:
			return Message{}, fmt.Errorf("%s: printed neither a message nor progress within %s: %w", s.name, s.cfg.StepTimeout,
				errdefs.ErrTimeout)
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// ended describes a helper whose output ended: how it exited, and its
// stderr's tail.
func (s *Session) ended(what string) error {
	select {
	case <-s.exited:
	case <-time.After(s.cfg.StepTimeout):
		return fmt.Errorf("%s: closed its output but did not exit within %s: %w", s.name, s.cfg.StepTimeout,
			errdefs.ErrTimeout)
	}
	return fmt.Errorf("%s: %s (%s)%s: %w", s.name, what, s.cmd.ProcessState, s.stderrTail(), errdefs.ErrUnavailable)
}

// exitedCleanly reports whether the helper was reaped with exit status 0.
func (s *Session) exitedCleanly() bool {
	select {
	case <-s.exited:
		return s.cmd.ProcessState.Success()
	default:
		return false
	}
}

// stderrTail quotes the end of the helper's stderr, if it wrote any.
func (s *Session) stderrTail() string {
	if t := strings.TrimSpace(s.stderr.String()); t != "" {
		return ": stderr: " + t
	}
	return ""
}

// Send writes a command line (done, abort, restore:<emu>) to the helper
// within StepTimeout.
func (s *Session) Send(cmd string) error {
	_ = s.in.SetWriteDeadline(time.Now().Add(s.cfg.StepTimeout))
	if _, err := io.WriteString(s.in, cmd+"\n"); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%s: did not read %q within %s: %w", s.name, cmd, s.cfg.StepTimeout, errdefs.ErrTimeout)
		}
		if errors.Is(err, syscall.EPIPE) {
			return s.ended(fmt.Sprintf("exited before it read %q", cmd))
		}
		return fmt.Errorf("%s: write %q: %w: %w", s.name, cmd, err, errdefs.ErrUnavailable)
	}
	return nil
}

// Wait waits within StepTimeout for the helper to exit, after its result:
// an exit status other than 0 is errdefs.ErrUnavailable.
func (s *Session) Wait(ctx context.Context) error {
	select {
	case <-s.exited:
	case <-time.After(s.cfg.StepTimeout):
		return fmt.Errorf("%s: did not exit within %s after its result: %w", s.name, s.cfg.StepTimeout,
			errdefs.ErrTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	if !s.cmd.ProcessState.Success() {
		return fmt.Errorf("%s: %s after its result%s: %w", s.name, s.cmd.ProcessState, s.stderrTail(),
			errdefs.ErrUnavailable)
	}
	return nil
}

// Close ends the helper if it still runs: abort, then, after AbortGrace,
// SIGKILL to its process group. It returns once the helper is reaped and
// nothing of its group is left. Close is idempotent.
func (s *Session) Close() {
	s.once.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.in.SetWriteDeadline(time.Now().Add(s.cfg.AbortGrace))
			_, _ = io.WriteString(s.in, CmdAbort+"\n")
			select {
			case <-s.exited:
			case <-time.After(s.cfg.AbortGrace):
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.exited
			}
		}
		s.in.Close()
		s.out.Close()
		for range s.lines { // unblock the reader
		}
		<-s.read
	})
}
