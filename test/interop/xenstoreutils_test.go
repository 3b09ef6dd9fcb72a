// Package interop checks the project's daemons against real Debian clients.
//
// xenstoreutils_test.go runs xenstore-utils (xenstore-read, xenstore-ls,
// xenstore-watch, ...) against the xenactor-xenstored binary and, as the
// baseline, against Debian's C xenstored, with the same checks for both.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/testenv"
	"github.com/xenactor/xenactor/test/cxenstored"
)

// utils are the xenstore-utils programs the tests run. xenstore-control is
// left out: it refuses to run without /sys/hypervisor.
var utils = []string{"xenstore-write", "xenstore-read", "xenstore-ls", "xenstore-list",
	"xenstore-exists", "xenstore-rm", "xenstore-chmod", "xenstore-watch"}

const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
	testTimeout  = 30 * time.Second
	daemonPkg    = "github.com/xenactor/xenactor/cmd/xenactor-xenstored"
)

// buildDaemon builds cmd/xenactor-xenstored into a temporary directory.
func buildDaemon(t *testing.T) string {
	t.Helper()
	tools := testenv.RequireExternal(t, "go")
	bin := filepath.Join(t.TempDir(), "xenactor-xenstored")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tools["go"], "build", "-o", bin, daemonPkg).CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", daemonPkg, out)
	return bin
}

// shortDir makes a directory short enough for a Unix socket path.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xs")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// xenactorDaemon is a running xenactor-xenstored process.
type xenactorDaemon struct {
	cmd    *exec.Cmd
	socket string
	stderr *bytes.Buffer
	exited chan struct{}
	err    error // cmd.Wait's result, once exited is closed
}

// startXenactor starts the built daemon on a socket in a short temporary
// directory and waits until the socket accepts connections. The daemon is
// killed when the test ends if it is still running.
func startXenactor(t *testing.T, bin string) *xenactorDaemon {
	t.Helper()
	sock := filepath.Join(shortDir(t), "socket")
	return startXenactorAt(t, exec.Command(bin, "-socket", sock), sock)
}

// startXenactorAt starts cmd, a xenactor-xenstored expected to listen on
// sock, as startXenactor does.
func startXenactorAt(t *testing.T, cmd *exec.Cmd, sock string) *xenactorDaemon {
	t.Helper()
	d := &xenactorDaemon{
		cmd:    cmd,
		socket: sock,
		stderr: new(bytes.Buffer),
		exited: make(chan struct{}),
	}
	d.cmd.Stderr = d.stderr // read only after exited is closed
	require.NoError(t, d.cmd.Start())
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(stopTimeout):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			_ = c.Close()
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("xenactor-xenstored exited during start-up (%v):\n%s", d.err, d.stderr)
		case <-ctx.Done():
			t.Fatalf("xenactor-xenstored socket %s not ready: %v", sock, ctx.Err())
		case <-tick.C:
		}
	}
}

// daemons are the daemons the client tests run against, ours first and C
// xenstored as the baseline.
var daemons = []struct {
	name  string
	start func(t *testing.T) string // returns the socket path
}{
	{"xenactor", func(t *testing.T) string { return startXenactor(t, buildDaemon(t)).socket }},
	{"cxenstored", func(t *testing.T) string { return cxenstored.StartForTest(t).SocketPath() }},
}

// clients runs xenstore-utils programs against one daemon.
type clients struct {
	t      *testing.T
	ctx    context.Context
	socket string
	progs  map[string]string
}

// run runs a program and returns its stdout and exit code. A program that
// cannot start or is killed fails the test.
func (c *clients) run(prog string, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.CommandContext(c.ctx, c.progs[prog], args...)
	cmd.Env = append(os.Environ(), "XENSTORED_PATH="+c.socket)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), 0
	case errors.As(err, &ee) && ee.Exited():
		return stdout.String(), ee.ExitCode()
	}
	c.t.Fatalf("%s %q: %v\nstderr: %s", prog, args, err, stderr.String())
	return "", -1
}

// ok runs a program that must succeed and returns its stdout.
func (c *clients) ok(prog string, args ...string) string {
	c.t.Helper()
	out, code := c.run(prog, args...)
	require.Zero(c.t, code, "%s %q exit code; stdout:\n%s", prog, args, out)
	return out
}

func TestXenstoreUtils(t *testing.T) {
	progs := testenv.RequireExternal(t, utils...)
	for _, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			sock := d.start(t)
			tests := []struct {
				name string
				fn   func(c *clients, prefix string)
			}{
				{"WriteRead", testWriteRead},
				{"Ls", testLs},
				{"List", testList},
				{"Exists", testExists},
				{"Rm", testRm},
				{"Chmod", testChmod},
				{"Watch", testWatch},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
					defer cancel()
					tc.fn(&clients{t: t, ctx: ctx, socket: sock, progs: progs}, "/interop/"+tc.name)
				})
			}
		})
	}
}

func testWriteRead(c *clients, p string) {
	c.ok("xenstore-write", p+"/a", "hello", p+"/b/c", "with spaces", p+"/empty", "")
	require.Equal(c.t, "hello\n", c.ok("xenstore-read", p+"/a"))
	require.Equal(c.t, "with spaces\n", c.ok("xenstore-read", p+"/b/c"))
	require.Equal(c.t, "\n", c.ok("xenstore-read", p+"/empty"))
	// Parents created by the write have empty values.
	require.Equal(c.t, "\n", c.ok("xenstore-read", p+"/b"))
	// Several paths: one value per line.
	require.Equal(c.t, "hello\nwith spaces\n", c.ok("xenstore-read", p+"/a", p+"/b/c"))
	// Overwrite.
	c.ok("xenstore-write", p+"/a", "again")
	require.Equal(c.t, "again\n", c.ok("xenstore-read", p+"/a"))
	// A missing node: non-zero exit, nothing on stdout.
	out, code := c.run("xenstore-read", p+"/missing")
	require.NotZero(c.t, code, "xenstore-read of a missing node")
	require.Empty(c.t, out)
}

func testLs(c *clients, p string) {
	c.ok("xenstore-write", p+"/a", "1", p+"/a/b", "2", p+"/a/b/c", "3", p+"/d", "x y")
	require.Equal(c.t, "a = \"1\"\n b = \"2\"\n  c = \"3\"\nd = \"x y\"\n", c.ok("xenstore-ls", p))
	require.Equal(c.t,
		p+"/a = \"1\"\n"+p+"/a/b = \"2\"\n"+p+"/a/b/c = \"3\"\n"+p+"/d = \"x y\"\n",
		c.ok("xenstore-ls", "-f", p))
	require.Equal(c.t, "", c.ok("xenstore-ls", p+"/d"), "xenstore-ls of a leaf")
	out, code := c.run("xenstore-ls", p+"/missing")
	require.NotZero(c.t, code, "xenstore-ls of a missing node: %q", out)
}

func testList(c *clients, p string) {
	c.ok("xenstore-write", p+"/z", "", p+"/a", "", p+"/m/n", "")
	require.Equal(c.t, "z\na\nm\n", c.ok("xenstore-list", p), "children in creation order")
	require.Equal(c.t, "n\n", c.ok("xenstore-list", p+"/m"))
	require.Equal(c.t, "", c.ok("xenstore-list", p+"/z"))
	_, code := c.run("xenstore-list", p+"/missing")
	require.NotZero(c.t, code, "xenstore-list of a missing node")
}

func testExists(c *clients, p string) {
	c.ok("xenstore-write", p+"/here", "v")
	c.ok("xenstore-exists", p+"/here")
	c.ok("xenstore-exists", p)
	for _, missing := range []string{p + "/missing", p + "/missing/deeper"} {
		_, code := c.run("xenstore-exists", missing)
		require.NotZero(c.t, code, "xenstore-exists %s", missing)
	}
}

func testRm(c *clients, p string) {
	c.ok("xenstore-write", p+"/keep", "k", p+"/tree/a", "1", p+"/tree/b/c", "2")
	c.ok("xenstore-rm", p+"/tree")
	for _, gone := range []string{p + "/tree", p + "/tree/a", p + "/tree/b/c"} {
		_, code := c.run("xenstore-exists", gone)
		require.NotZero(c.t, code, "%s exists after xenstore-rm", gone)
	}
	require.Equal(c.t, "keep\n", c.ok("xenstore-list", p))
	// Several paths at once.
	c.ok("xenstore-write", p+"/x", "", p+"/y", "")
	c.ok("xenstore-rm", p+"/x", p+"/y")
	require.Equal(c.t, "keep\n", c.ok("xenstore-list", p))
}

func testChmod(c *clients, p string) {
	c.ok("xenstore-write", p+"/a", "x", p+"/b", "y")
	c.ok("xenstore-chmod", p+"/a", "n0", "r5", "w6")
	c.ok("xenstore-chmod", p+"/b", "b7")
	lines := strings.Split(strings.TrimSuffix(c.ok("xenstore-ls", "-p", p), "\n"), "\n")
	require.Len(c.t, lines, 2, "xenstore-ls -p output %q", lines)
	for i, want := range []struct{ head, perms string }{
		{`a = "x"`, "(n0,r5,w6)"},
		{`b = "y"`, "(b7)"},
	} {
		require.True(c.t, strings.HasPrefix(lines[i], want.head), "line %q does not start with %q", lines[i], want.head)
		require.True(c.t, strings.HasSuffix(lines[i], want.perms), "line %q does not end with %q", lines[i], want.perms)
	}
	// chmod of a missing node fails.
	_, code := c.run("xenstore-chmod", p+"/missing", "n0")
	require.NotZero(c.t, code, "xenstore-chmod of a missing node")
}

func testWatch(c *clients, p string) {
	c.ok("xenstore-write", p, "")
	cmd := exec.CommandContext(c.ctx, c.progs["xenstore-watch"], "-n", "3", p)
	cmd.Env = append(os.Environ(), "XENSTORED_PATH="+c.socket)
	stdout, err := cmd.StdoutPipe()
	require.NoError(c.t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(c.t, cmd.Start())
	waited := false
	c.t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-c.ctx.Done():
				return
			}
		}
	}()
	next := func() string {
		c.t.Helper()
		select {
		case l, ok := <-lines:
			require.True(c.t, ok, "xenstore-watch output ended early; stderr: %s", &stderr)
			return l
		case <-c.ctx.Done():
			c.t.Fatalf("no line from xenstore-watch: %v; stderr: %s", c.ctx.Err(), &stderr)
		}
		return ""
	}
	// The registration event first: only then is the watch in place.
	require.Equal(c.t, p, next(), "initial event")
	c.ok("xenstore-write", p+"/a", "1")
	require.Equal(c.t, p+"/a", next())
	c.ok("xenstore-write", p+"-sibling", "not watched")
	c.ok("xenstore-rm", p+"/a")
	require.Equal(c.t, p+"/a", next())
	// -n 3: it exits after three events.
	_, ok := <-lines
	require.False(c.t, ok, "xenstore-watch printed more than three events")
	waited = true
	require.NoError(c.t, cmd.Wait(), "xenstore-watch; stderr: %s", &stderr)
}

// TestXenactorSIGTERM checks that the daemon exits cleanly on SIGTERM and
// removes its socket.
func TestXenactorSIGTERM(t *testing.T) {
	progs := testenv.RequireExternal(t, "xenstore-write", "xenstore-read")
	d := startXenactor(t, buildDaemon(t))
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	c := &clients{t: t, ctx: ctx, socket: d.socket, progs: progs}
	c.ok("xenstore-write", "/sigterm", "v")
	require.Equal(t, "v\n", c.ok("xenstore-read", "/sigterm"))
	// A client still connected does not hold the daemon up.
	conn, err := net.Dial("unix", d.socket)
	require.NoError(t, err)
	defer conn.Close()

	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("xenactor-xenstored still running %s after SIGTERM", stopTimeout)
	}
	require.NoError(t, d.err, "exit status; stderr:\n%s", d.stderr)
	_, err = os.Lstat(d.socket)
	require.True(t, errors.Is(err, os.ErrNotExist), "socket %s left behind: %v", d.socket, err)
}

// TestXenactorSocketFromEnvironment checks that the daemon, like the
// xenstore-utils clients, finds its socket from XENSTORED_PATH or
// XENSTORED_RUNDIR when no -socket flag is given.
func TestXenactorSocketFromEnvironment(t *testing.T) {
	progs := testenv.RequireExternal(t, "xenstore-write", "xenstore-read")
	bin := buildDaemon(t)
	for _, tc := range []struct{ name, env, socket string }{
		{"XENSTORED_PATH", "XENSTORED_PATH", "xs.sock"},
		{"XENSTORED_RUNDIR", "XENSTORED_RUNDIR", "socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			sock := filepath.Join(dir, tc.socket)
			value := sock
			if tc.env == "XENSTORED_RUNDIR" {
				value = dir
			}
			cmd := exec.Command(bin)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "XENSTORED_") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, tc.env+"="+value)
			d := startXenactorAt(t, cmd, sock)
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			c := &clients{t: t, ctx: ctx, socket: d.socket, progs: progs}
			c.ok("xenstore-write", "/env", tc.env)
			require.Equal(t, tc.env+"\n", c.ok("xenstore-read", "/env"))
		})
	}
}
