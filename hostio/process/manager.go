package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultGrace is how long Stop waits after SIGTERM before SIGKILL unless
// WithGrace says otherwise.
const DefaultGrace = 10 * time.Second

// DefaultMaxLogBytes is the size past which a daemon's log is moved aside
// to <name>.log.1 when the daemon is started, unless WithMaxLogBytes says
// otherwise.
const DefaultMaxLogBytes = 16 << 20

// Spec is a daemon to run.
type Spec struct {
	// Name names the pid file and the log: 1 to 64 characters from
	// [A-Za-z0-9._-], not starting with ".".
	Name string
	// Path is the executable: an absolute path, or a name looked up in PATH.
	Path string
	// Args are the arguments after argv[0].
	Args []string
	// Env is the environment; nil inherits xenactord's.
	Env []string
	// Dir is the working directory; "" is the run directory.
	Dir string
}

// Manager starts and adopts daemons whose pid files and logs live in one
// run directory. It is safe for concurrent use; two Procs of one name at a
// time are the caller's mistake.
type Manager struct {
	run         string
	grace       time.Duration
	maxLogBytes int64
}

// Option configures a Manager.
type Option func(*Manager)

// WithGrace sets how long Stop waits after SIGTERM before SIGKILL; zero or
// less kills at once.
func WithGrace(d time.Duration) Option { return func(m *Manager) { m.grace = d } }

// WithMaxLogBytes sets the size past which a log is moved aside to
// <name>.log.1 when its daemon starts; zero or less never moves it.
func WithMaxLogBytes(n int64) Option { return func(m *Manager) { m.maxLogBytes = n } }

// NewManager returns a Manager rooted at runDir, creating runDir and
// runDir/log.
func NewManager(runDir string, opts ...Option) (*Manager, error) {
	m := &Manager{run: runDir, grace: DefaultGrace, maxLogBytes: DefaultMaxLogBytes}
	for _, opt := range opts {
		opt(m)
	}
	if err := os.MkdirAll(filepath.Join(runDir, "log"), 0o755); err != nil {
		return nil, fmt.Errorf("process: run directory: %w", err)
	}
	return m, nil
}

// RunDir returns the run directory.
func (m *Manager) RunDir() string { return m.run }

// PidFile returns the pid file of daemon name.
func (m *Manager) PidFile(name string) string { return pidFilePath(m.run, name) }

// LogFile returns the log of daemon name.
func (m *Manager) LogFile(name string) string { return filepath.Join(m.run, "log", name+".log") }

// Start starts spec in its own session, with its log as stdout and stderr,
// and writes its pid file. It fails with errdefs.ErrExists when the pid
// file names a live process of the same program (Adopt it instead), and
// with errdefs.ErrInvalid for a bad spec.
func (m *Manager) Start(ctx context.Context, spec Spec) (*Proc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	exe, err := m.check(spec)
	if err != nil {
		return nil, err
	}
	pidFile := m.PidFile(spec.Name)
	if rec, err := readPidFile(pidFile); err == nil {
		if verify(rec, exe, spec.Args) == nil {
			return nil, fmt.Errorf("process %s: pid %d is running: %w", spec.Name, rec.Pid, errdefs.ErrExists)
		}
	}
	logf, err := m.openLog(spec.Name)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, spec.Args...)
	cmd.Args[0] = spec.Path
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = m.run
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("process %s: start %s: %v: %w", spec.Name, exe, err, errdefs.ErrUnavailable)
	}
	rec := pidRecord{Pid: cmd.Process.Pid, Exe: exe, Args: slices.Clone(spec.Args)}
	// The child has exec'd when Start returns; a failed read means it has
	// already exited, and the pid file then names no process.
	if st, err := readStat(rec.Pid); err == nil {
		rec.StartTime = st.StartTime
	}
	p := newProc(m, spec.Name, rec, false)
	p.child = cmd.Process
	if err := writePidFile(pidFile, rec); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	go p.waitChild(cmd)
	return p, nil
}

// Adopt attaches to the live daemon that spec's pid file names. The process
// must have the recorded start time, run spec's executable and have spec's
// arguments; otherwise the pid file is removed and Adopt fails with
// errdefs.ErrNotFound, without signalling the pid. With no pid file it
// fails with errdefs.ErrNotFound too.
func (m *Manager) Adopt(spec Spec) (*Proc, error) {
	exe, err := m.check(spec)
	if err != nil {
		return nil, err
	}
	pidFile := m.PidFile(spec.Name)
	rec, err := readPidFile(pidFile)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("process %s: %w", spec.Name, err)
	}
	if err != nil {
		_ = os.Remove(pidFile)
		return nil, fmt.Errorf("process %s: removed: %v: %w", spec.Name, err, errdefs.ErrNotFound)
	}
	// Open the pidfd first: it pins the process, so one that passes the
	// checks below is the one the pidfd watches and signals.
	fd, err := pidfdOpen(rec.Pid)
	if err != nil {
		removePidFileIf(pidFile, rec)
		return nil, fmt.Errorf("process %s: pid %d: %v: %w", spec.Name, rec.Pid, err, errdefs.ErrNotFound)
	}
	if err := verify(rec, exe, spec.Args); err != nil {
		fd.Close()
		removePidFileIf(pidFile, rec)
		return nil, fmt.Errorf("process %s: stale pid file removed: %w", spec.Name, err)
	}
	p := newProc(m, spec.Name, rec, true)
	p.pidfd = fd
	go p.waitPidfd()
	return p, nil
}

// check validates spec and returns its executable, resolved through PATH
// and symbolic links as /proc/<pid>/exe shows it.
func (m *Manager) check(spec Spec) (string, error) {
	if !validName(spec.Name) {
		return "", fmt.Errorf("process: name %q: %w", spec.Name, errdefs.ErrInvalid)
	}
	if spec.Path == "" {
		return "", fmt.Errorf("process %s: no path: %w", spec.Name, errdefs.ErrInvalid)
	}
	exe, err := exec.LookPath(spec.Path)
	if err != nil {
		return "", fmt.Errorf("process %s: %v: %w", spec.Name, err, errdefs.ErrNotFound)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", fmt.Errorf("process %s: %w", spec.Name, err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("process %s: %v: %w", spec.Name, err, errdefs.ErrNotFound)
	}
	return exe, nil
}

// openLog opens the log of name for appending, moving a log larger than
// the cap aside first.
func (m *Manager) openLog(name string) (*os.File, error) {
	path := m.LogFile(name)
	if fi, err := os.Stat(path); err == nil && m.maxLogBytes > 0 && fi.Size() > m.maxLogBytes {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("process %s: log: %w", name, err)
	}
	return f, nil
}

// verify checks that rec's pid is a live process started at rec's start
// time, running exe with args. Its errors wrap errdefs.ErrNotFound.
func verify(rec pidRecord, exe string, args []string) error {
	st, err := readStat(rec.Pid)
	if err != nil {
		return fmt.Errorf("pid %d: %w", rec.Pid, errdefs.ErrNotFound)
	}
	if st.State == 'Z' || st.State == 'X' {
		return fmt.Errorf("pid %d has exited: %w", rec.Pid, errdefs.ErrNotFound)
	}
	if st.StartTime != rec.StartTime {
		return fmt.Errorf("pid %d was reused (started at %d, recorded %d): %w", rec.Pid, st.StartTime, rec.StartTime, errdefs.ErrNotFound)
	}
	got, err := readExe(rec.Pid)
	if err != nil {
		return err
	}
	if got != exe || rec.Exe != exe {
		return fmt.Errorf("pid %d runs %s, not %s: %w", rec.Pid, got, exe, errdefs.ErrNotFound)
	}
	gotArgs, err := readArgs(rec.Pid)
	if err != nil {
		return err
	}
	if !slices.Equal(gotArgs, args) || !slices.Equal(rec.Args, args) {
		return fmt.Errorf("pid %d has arguments %q, not %q: %w", rec.Pid, gotArgs, args, errdefs.ErrNotFound)
	}
	return nil
}

// validName reports whether name is fit for a pid file and a log.
func validName(name string) bool {
	if name == "" || len(name) > 64 || strings.HasPrefix(name, ".") {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}
