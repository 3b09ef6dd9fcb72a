package ovstest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// Schema is Debian's Open vSwitch database schema.
const Schema = ovs.Schema

// stopGrace is how long a daemon has to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// Server is a private Open vSwitch in user space for one test: an
// ovsdb-server on a Unix socket and an ovs-vswitchd connected to it, each
// with its pid file, control socket and log in a temporary directory, so
// nothing touches /var/run/openvswitch or the system's switch.
//
// ovs-vswitchd runs with --disable-system --enable-dummy=override: the
// kernel datapath is off and the datapath and network device classes are
// Open vSwitch's own dummies, so bridges (datapath_type=netdev) and their
// ports exist in the switch without a kernel module, a tap device or a
// Linux interface, and tests running side by side cannot collide.
type Server struct {
	// Dir holds the database, sockets, pid files and logs.
	Dir string
	// DB is the ovsdb-server's socket.
	DB string

	progs    map[string]string
	env      []string
	ovsdb    *daemon
	vswitchd *daemon
}

type daemon struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer // what it printed before its log file opened
	done chan struct{}
}

// Start starts a private Open vSwitch, stopped when the test ends. It
// skips the test when Open vSwitch is not installed (or fails it when
// XENACTOR_REQUIRE_EXTERNAL is set).
func Start(t testing.TB) *Server {
	t.Helper()
	progs := testenv.RequireExternal(t, "ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl")
	if _, err := os.Stat(Schema); err != nil {
		msg := "Open vSwitch schema " + Schema + " missing: apt-get install openvswitch-switch"
		if testenv.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Unix socket paths must stay short: not t.TempDir().
	dir, err := os.MkdirTemp("", "ovs")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, DB: filepath.Join(dir, "db.sock"), progs: progs}
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range []*daemon{s.ovsdb, s.vswitchd} {
				if d != nil && d.out.String() != "" {
					t.Logf("%s: %s", filepath.Base(d.cmd.Path), d.out.String())
				}
			}
			for _, log := range []string{"ovsdb-server.log", "ovs-vswitchd.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, log)); err == nil {
					t.Logf("%s:\n%s", log, b)
				}
			}
		}
		s.Stop()
		_ = os.RemoveAll(dir)
	})
	s.env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir,
		"OVS_SYSCONFDIR="+dir)
	db := filepath.Join(dir, "conf.db")
	if out, err := s.command("ovsdb-tool", "create", db, Schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	s.ovsdb = s.start(t, "ovsdb-server", db, "--remote=punix:"+s.DB,
		"--pidfile="+filepath.Join(dir, "ovsdb-server.pid"), "--unixctl="+filepath.Join(dir, "ovsdb-server.ctl"),
		"--log-file="+filepath.Join(dir, "ovsdb-server.log"), "--no-chdir")
	// The database is up once ovs-vsctl can initialise it.
	s.vsctlEventually(t, "--no-wait", "init")
	s.StartVswitchd(t)
	return s
}

// Switch returns a Vsctl on this server that creates bridges with
// datapath_type=netdev and waits for ovs-vswitchd to apply changes.
func (s *Server) Switch() *ovs.Vsctl {
	return ovs.NewVsctl(ovs.VsctlConfig{Program: s.progs["ovs-vsctl"], DB: s.DB, DatapathType: "netdev",
		Timeout: 10 * time.Second, OfctlRunDir: s.Dir})
}

// StartVswitchd starts ovs-vswitchd and waits until it has applied the
// database's configuration.
func (s *Server) StartVswitchd(t testing.TB) {
	t.Helper()
	s.vswitchd = s.start(t, "ovs-vswitchd", "unix:"+s.DB,
		"--pidfile="+filepath.Join(s.Dir, "ovs-vswitchd.pid"), "--unixctl="+filepath.Join(s.Dir, "ovs-vswitchd.ctl"),
		"--log-file="+filepath.Join(s.Dir, "ovs-vswitchd.log"), "--no-chdir",
		"--disable-system", "--enable-dummy=override")
	// Without --no-wait, init returns once ovs-vswitchd caught up.
	s.vsctlEventually(t, "init")
}

// KillVswitchd kills ovs-vswitchd with SIGKILL and waits until it is gone;
// the database and ovsdb-server are untouched.
func (s *Server) KillVswitchd(t testing.TB) {
	t.Helper()
	if s.vswitchd == nil {
		return
	}
	_ = s.vswitchd.cmd.Process.Kill()
	<-s.vswitchd.done
	s.vswitchd = nil
}

// VswitchdRunning reports whether ovs-vswitchd runs.
func (s *Server) VswitchdRunning() bool {
	if s.vswitchd == nil {
		return false
	}
	select {
	case <-s.vswitchd.done:
		return false
	default:
		return true
	}
}

// Stop stops ovs-vswitchd, then ovsdb-server: SIGTERM, then SIGKILL after
// a grace period. Start registers it as a cleanup; calling it again does
// nothing.
func (s *Server) Stop() {
	for _, d := range []**daemon{&s.vswitchd, &s.ovsdb} {
		if *d == nil {
			continue
		}
		(*d).stop()
		*d = nil
	}
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(stopGrace):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

func (s *Server) command(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(s.progs[prog], args...)
	cmd.Env = s.env
	cmd.Dir = s.Dir
	return cmd
}

// start starts a daemon in the foreground of its own process group, so
// that a signal to the test does not reach it first.
func (s *Server) start(t testing.TB, prog string, args ...string) *daemon {
	t.Helper()
	cmd := s.command(prog, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", prog, err)
	}
	d := &daemon{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(d.done)
	}()
	return d
}

// vsctlEventually runs ovs-vsctl with args until it succeeds, for up to
// 10 s (the daemons may still be opening their sockets).
func (s *Server) vsctlEventually(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		cmd := s.command("ovs-vsctl", append([]string{"--db=unix:" + s.DB, "--timeout=5"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ovs-vsctl %v: %v: %s", args, errors.Join(err, ctx.Err()), out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
