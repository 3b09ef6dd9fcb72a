// Package xenstoretest is a conformance suite for xenstore daemons. Run
// drives a daemon through a privileged (dom0) socket connection, with the
// project's client and with raw messages, and checks the answers that C
// xenstored 4.17 (Debian 12's xen-utils-4.17) gives: the reference. Where
// daemons legitimately differ, Caps says which behaviour to expect.
//
// The project's xenstored runs it in hostio/xenstore/xenstored, the C daemon
// in this package's own tests (through test/cxenstored).
package xenstoretest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// Target is a daemon under test.
type Target struct {
	// Dial opens a fresh privileged (dom0) connection with a client on it.
	Dial func(ctx context.Context) (*xenstore.Client, error)
	// DialConn opens a fresh privileged connection for raw messages.
	DialConn func(ctx context.Context) (net.Conn, error)
	// Caps says which optional behaviour the daemon has.
	Caps Caps
}

// Caps lists where daemons legitimately differ. The suite checks the
// behaviour a flag names when it is set, and C xenstored 4.17's answer
// (given in each comment) when it is not.
type Caps struct {
	// Quota: GET_QUOTA and SET_QUOTA (ops 25 and 26, Xen 4.18) read and
	// set the global and per-domain quotas. C xenstored 4.17 answers
	// ENOSYS to both.
	Quota bool
	// WatchDepth: WATCH takes an optional third argument, the number of
	// levels below the path whose changes fire. C xenstored 4.17 answers
	// EINVAL to a WATCH with three arguments.
	WatchDepth bool
	// Control: CONTROL answers "help" with its command list (one command
	// per line, the name first) and "check" with "OK", and an unknown
	// command with EINVAL. Both C xenstored 4.17 and the project's daemon
	// have it; a daemon without CONTROL must answer ENOSYS.
	Control bool
}

// SocketTarget is a Target for a daemon listening on the Unix socket at
// path. Dials are retried while the daemon's backlog is full (C
// xenstored listens with a backlog of one).
func SocketTarget(path string, caps Caps) Target {
	return Target{
		Dial: func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, path) },
		DialConn: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			for {
				c, err := d.DialContext(ctx, "unix", path)
				if err == nil || ctx.Err() != nil ||
					(!errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.ECONNREFUSED)) {
					return c, err
				}
				select {
				case <-ctx.Done():
					return nil, err
				case <-time.After(5 * time.Millisecond):
				}
			}
		},
		Caps: caps,
	}
}

// testTimeout bounds each test of the suite.
const testTimeout = 30 * time.Second

// test is one conformance test.
type test struct {
	name string
	fn   func(e *env)
}

// group is a set of tests run against one daemon that newTarget returns.
type group struct {
	name  string
	tests []test
}

// Run runs the suite. newTarget is called once per group (Nodes, Perms,
// Watches, Transactions, Domains, Protocol, Control, Quota), so a fresh
// daemon per group keeps the groups independent; the tests of a group run
// one after another, each under its own path (/test/<name>).
func Run(t *testing.T, newTarget func(t *testing.T) Target) {
	groups := []group{
		{"Nodes", nodeTests},
		{"Perms", permTests},
		{"Watches", watchTests},
		{"Transactions", txTests},
		{"Domains", domainTests},
		{"Protocol", protocolTests},
		{"Control", controlTests},
		{"Quota", quotaTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			tg := newTarget(t)
			require.NotNil(t, tg.Dial, "Target.Dial")
			require.NotNil(t, tg.DialConn, "Target.DialConn")
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
					defer cancel()
					tc.fn(&env{T: t, ctx: ctx, tg: tg, prefix: "/test/" + sanitize(g.name+"-"+tc.name)})
				})
			}
		})
	}
}

// env is what a test gets: its testing.T, a context bounded by
// testTimeout, the target and the test's own path prefix.
type env struct {
	*testing.T
	ctx    context.Context
	tg     Target
	prefix string
	wires  int
}

// run runs fn as a subtest with its own path prefix below the test's.
func (e *env) run(name string, fn func(e *env)) {
	e.Helper()
	e.T.Run(name, func(t *testing.T) {
		fn(&env{T: t, ctx: e.ctx, tg: e.tg, prefix: e.prefix + "/" + sanitize(name)})
	})
}

// sanitize turns a test name into a path element.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// path returns the test's prefix joined with elems.
func (e *env) path(elems ...string) string {
	return strings.Join(append([]string{e.prefix}, elems...), "/")
}

// client dials a fresh client connection, closed when the test ends.
func (e *env) client() *xenstore.Client {
	e.Helper()
	c, err := e.tg.Dial(e.ctx)
	require.NoError(e, err, "dial")
	e.Cleanup(func() { _ = c.Close() })
	return c
}

// requireErrno checks that err is an *xenstore.Error with the given name.
func requireErrno(t testing.TB, err error, want xenstore.Errno, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	var xe *xenstore.Error
	require.ErrorAs(t, err, &xe, msgAndArgs...)
	require.Equal(t, want, xe.Errno, "%s: error %v", msg(msgAndArgs), err)
}

// doErr sends a raw request on c and returns the daemon's error (nil for
// a non-ERROR reply).
func doErr(e *env, c *xenstore.Client, op xenstore.Op, tx uint32, payload []byte) error {
	e.Helper()
	_, err := c.Do(e.ctx, xenstore.Message{Op: op, TxID: tx, Payload: payload})
	return err
}

// values returns n bytes that cover every byte value, NUL included.
func values(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// msg formats testify-style message arguments.
func msg(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	if f, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(f, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}
