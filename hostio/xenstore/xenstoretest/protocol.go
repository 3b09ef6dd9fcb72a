package xenstoretest

import (
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

var protocolTests = []test{
	{"UnknownOp", testUnknownOp},
	{"OversizedHeader", testOversizedHeader},
	{"MissingNUL", testMissingNUL},
	{"ReqIDEchoed", testReqIDEchoed},
	{"Pipelined", testPipelined},
	{"ManyConnections", testManyConnections},
}

var controlTests = []test{
	{"Help", testControlHelp},
	{"Check", testControlCheck},
	{"Unknown", testControlUnknown},
}

var quotaTests = []test{
	{"GetSet", testQuota},
}

func testUnknownOp(e *env) {
	c := e.client()
	ops := []xenstore.Op{99, 1000, xenstore.OpInvalid, xenstore.OpWatchEvent, xenstore.OpError, xenstore.OpGetFeature}
	for _, op := range ops {
		err := doErr(e, c, op, 0, xenstore.Strings("x"))
		requireErrno(e, err, xenstore.ENOSYS, "op %s", op)
		require.True(e, errdefs.IsNotImplemented(err))
	}
	// The connection stays usable.
	require.NoError(e, c.Write(e.ctx, e.path("after"), []byte("ok")))
	got, err := c.Read(e.ctx, e.path("after"))
	require.NoError(e, err)
	require.Equal(e, "ok", string(got))
}

// testOversizedHeader sends a header announcing 5000 bytes: the daemon
// drops that connection and keeps serving the others.
func testOversizedHeader(e *env) {
	before := e.client()
	require.NoError(e, before.Write(e.ctx, e.path("x"), []byte("v")))

	conn, err := e.tg.DialConn(e.ctx)
	require.NoError(e, err)
	defer conn.Close()
	hdr := binary.NativeEndian.AppendUint32(nil, uint32(xenstore.OpRead))
	hdr = binary.NativeEndian.AppendUint32(hdr, 1)
	hdr = binary.NativeEndian.AppendUint32(hdr, 0)
	hdr = binary.NativeEndian.AppendUint32(hdr, 5000)
	_, err = conn.Write(hdr)
	require.NoError(e, err)
	_, _ = conn.Write(make([]byte, 5000)) // may fail once dropped
	deadline, _ := e.ctx.Deadline()
	require.NoError(e, conn.SetReadDeadline(deadline))
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	require.Error(e, err, "read %d bytes (%q) from a connection that sent an oversized header", n, buf[:n])
	var ne net.Error
	require.False(e, errors.As(err, &ne) && ne.Timeout(), "the daemon kept the connection open: %v", err)

	// The connection made before still works, and so does a new one.
	got, err := before.Read(e.ctx, e.path("x"))
	require.NoError(e, err)
	require.Equal(e, "v", string(got))
	after := e.client()
	require.NoError(e, after.Write(e.ctx, e.path("y"), []byte("w")))
}

func testMissingNUL(e *env) {
	w := e.wire()
	// WRITE needs the NUL that ends the path.
	m := w.raw(xenstore.OpWrite, 0, []byte(e.path("n")))
	require.Equal(e, xenstore.EINVAL, errno(m), "WRITE without a NUL: %v", m)
	// WATCH needs a path and a token.
	for _, p := range []string{"", "\x00", e.path("n")} {
		m = w.raw(xenstore.OpWatch, 0, []byte(p))
		require.Equal(e, xenstore.EINVAL, errno(m), "WATCH %q: %v", p, m)
	}
	w.write(e.path("n"), "v")
}

func testReqIDEchoed(e *env) {
	w := e.wire()
	w.write(e.path("r"), "v")
	for _, id := range []uint32{0, 1, 0x7fffffff, 0xdeadbeef, 0xffffffff} {
		for _, p := range []string{e.path("r"), e.path("missing")} {
			req := xenstore.Message{Op: xenstore.OpRead, ReqID: id, Payload: xenstore.Strings(p)}
			_, err := w.conn.Write(req.Append(nil))
			require.NoError(e, err)
			select {
			case m := <-w.replies:
				require.Equal(e, id, m.ReqID, "req_id of the reply to %v", req)
				require.Equal(e, uint32(0), m.TxID)
			case <-e.ctx.Done():
				e.Fatalf("no reply to %v", req)
			}
		}
	}
}

func testPipelined(e *env) {
	w := e.wire()
	const n = 50
	var buf []byte
	for i := range n {
		req := xenstore.Message{Op: xenstore.OpWrite, ReqID: uint32(1000 + i),
			Payload: append(xenstore.Strings(e.path("p", strconv.Itoa(i))), strconv.Itoa(i)...)}
		buf = req.Append(buf)
	}
	for i := range n {
		req := xenstore.Message{Op: xenstore.OpRead, ReqID: uint32(2000 + i), Payload: xenstore.Strings(e.path("p", strconv.Itoa(i)))}
		buf = req.Append(buf)
	}
	_, err := w.conn.Write(buf)
	require.NoError(e, err)
	for i := range 2 * n {
		select {
		case m := <-w.replies:
			if i < n {
				require.Equal(e, uint32(1000+i), m.ReqID, "replies in request order")
				require.Equal(e, "OK\x00", string(m.Payload))
			} else {
				require.Equal(e, uint32(2000+i-n), m.ReqID, "replies in request order")
				require.Equal(e, strconv.Itoa(i-n), string(m.Payload))
			}
		case <-e.ctx.Done():
			e.Fatalf("reply %d of %d missing", i, 2*n)
		}
	}
}

func testManyConnections(e *env) {
	const n = 20
	cs := make([]*xenstore.Client, n)
	for i := range cs {
		cs[i] = e.client()
		require.NoError(e, cs[i].Write(e.ctx, e.path(strconv.Itoa(i)), []byte("v")))
	}
	kids, err := cs[0].Directory(e.ctx, e.path())
	require.NoError(e, err)
	require.Len(e, kids, n)
	for _, c := range cs[n/2:] {
		require.NoError(e, c.Close())
	}
	for i, c := range cs[:n/2] {
		require.NoError(e, c.Rm(e.ctx, e.path(strconv.Itoa(i))))
	}
	kids, err = cs[0].Directory(e.ctx, e.path())
	require.NoError(e, err)
	require.Len(e, kids, n/2)
}

func testControlHelp(e *env) {
	c := e.client()
	text, err := c.Control(e.ctx, "help")
	if !e.tg.Caps.Control {
		requireErrno(e, err, xenstore.ENOSYS)
		return
	}
	require.NoError(e, err)
	var cmds []string
	for _, line := range strings.Split(text, "\n") {
		if f := strings.FieldsFunc(line, func(r rune) bool { return r == '\t' || r == ' ' }); len(f) > 0 && line[0] != ' ' {
			cmds = append(cmds, f[0])
		}
	}
	require.Contains(e, cmds, "check", "help text %q", text)
	require.Contains(e, cmds, "log", "help text %q", text)
}

func testControlCheck(e *env) {
	c := e.client()
	text, err := c.Control(e.ctx, "check")
	if !e.tg.Caps.Control {
		requireErrno(e, err, xenstore.ENOSYS)
		return
	}
	require.NoError(e, err)
	require.Equal(e, "OK", text)
}

func testControlUnknown(e *env) {
	c := e.client()
	_, err := c.Control(e.ctx, "no-such-command")
	if !e.tg.Caps.Control {
		requireErrno(e, err, xenstore.ENOSYS)
		return
	}
	requireErrno(e, err, xenstore.EINVAL, "CONTROL with an unknown command")
	err = doErr(e, c, xenstore.OpControl, 0, nil)
	requireErrno(e, err, xenstore.EINVAL, "CONTROL without a command")
	// The connection stays usable.
	_, err = c.Control(e.ctx, "check")
	require.NoError(e, err)
}

func testQuota(e *env) {
	c := e.client()
	if !e.tg.Caps.Quota {
		_, err := c.GetQuota(e.ctx, "nodes")
		requireErrno(e, err, xenstore.ENOSYS, "GET_QUOTA")
		err = c.SetQuota(e.ctx, "nodes", 10)
		requireErrno(e, err, xenstore.ENOSYS, "SET_QUOTA")
		return
	}
	m, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpGetQuota})
	require.NoError(e, err)
	names := strings.Fields(xenstore.FirstString(m.Payload))
	for _, n := range []string{"nodes", "watches", "transactions"} {
		require.Contains(e, names, n, "GET_QUOTA with no argument lists the quota names")
	}
	orig, err := c.GetQuota(e.ctx, "nodes")
	require.NoError(e, err)
	require.NoError(e, c.SetQuota(e.ctx, "nodes", orig+17))
	got, err := c.GetQuota(e.ctx, "nodes")
	require.NoError(e, err)
	require.Equal(e, orig+17, got)
	require.NoError(e, c.SetQuota(e.ctx, "nodes", orig))

	_, err = c.GetQuota(e.ctx, "no-such-quota")
	requireErrno(e, err, xenstore.EINVAL)
	err = c.SetQuota(e.ctx, "no-such-quota", 1)
	requireErrno(e, err, xenstore.EINVAL)

	introduce(e, c, 21)
	require.NoError(e, c.SetDomainQuota(e.ctx, 21, "watches", 3))
	got, err = c.GetDomainQuota(e.ctx, 21, "watches")
	require.NoError(e, err)
	require.Equal(e, uint64(3), got)
	_, err = c.GetDomainQuota(e.ctx, 22, "watches")
	requireErrno(e, err, xenstore.ENOENT, "GET_QUOTA of a domain not introduced")
	err = c.SetDomainQuota(e.ctx, 22, "watches", 3)
	requireErrno(e, err, xenstore.ENOENT, "SET_QUOTA of a domain not introduced")
}
