package xenstoretest

import (
	"net"
	"strconv"
	"sync"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// ev is a watch event.
type ev struct{ Path, Token string }

// wire is a raw connection that sees every watch event in the order the
// daemon sends them. Requests are made one at a time.
type wire struct {
	e      *env
	conn   net.Conn
	id     uint32
	fence  string // this wire's fence node
	fenced bool   // the fence watch is registered
	seq    int

	replies chan xenstore.Message
	events  chan ev
	readErr chan error // the reader's final error, once
	once    sync.Once
}

const fenceToken = "fence"

// wire dials a raw connection, closed when the test ends.
func (e *env) wire() *wire {
	e.Helper()
	c, err := e.tg.DialConn(e.ctx)
	require.NoError(e, err, "dial")
	e.wires++
	w := &wire{
		e: e, conn: c,
		fence:   "/fence" + e.prefix + "/w" + strconv.Itoa(e.wires),
		replies: make(chan xenstore.Message, 16),
		events:  make(chan ev, 4096),
		readErr: make(chan error, 1),
	}
	go w.read()
	e.Cleanup(func() { _ = c.Close() })
	return w
}

func (w *wire) read() {
	for {
		m, err := xenstore.ReadMessage(w.conn)
		if err != nil {
			w.readErr <- err
			close(w.replies)
			return
		}
		if m.Op == xenstore.OpWatchEvent {
			s := xenstore.SplitStrings(m.Payload)
			for len(s) < 2 {
				s = append(s, "")
			}
			w.events <- ev{s[0], s[1]}
			continue
		}
		w.replies <- m
	}
}

// raw sends one request and returns its reply.
func (w *wire) raw(op xenstore.Op, tx uint32, payload []byte) xenstore.Message {
	w.e.Helper()
	w.id++
	req := xenstore.Message{Op: op, ReqID: w.id, TxID: tx, Payload: payload}
	b, err := req.MarshalBinary()
	require.NoError(w.e, err)
	_, err = w.conn.Write(b)
	require.NoError(w.e, err, "send %v", req)
	select {
	case m, ok := <-w.replies:
		if !ok {
			w.e.Fatalf("connection closed before the reply to %v: %v", req, <-w.readErr)
		}
		require.Equal(w.e, req.ReqID, m.ReqID, "req_id of the reply %v to %v", m, req)
		if m.Op != xenstore.OpError {
			require.Equal(w.e, op, m.Op, "reply %v to %v", m, req)
		}
		return m
	case <-w.e.ctx.Done():
		w.e.Fatalf("no reply to %v: %v", req, w.e.ctx.Err())
	}
	return xenstore.Message{}
}

// do sends op with NUL-terminated args.
func (w *wire) do(op xenstore.Op, tx uint32, args ...string) xenstore.Message {
	w.e.Helper()
	return w.raw(op, tx, xenstore.Strings(args...))
}

// errno returns the error name of an ERROR reply, "" for any other.
func errno(m xenstore.Message) xenstore.Errno {
	if m.Op != xenstore.OpError {
		return ""
	}
	return xenstore.Errno(xenstore.FirstString(m.Payload))
}

// ok sends op with args and requires an "OK" reply.
func (w *wire) ok(op xenstore.Op, tx uint32, args ...string) {
	w.e.Helper()
	m := w.do(op, tx, args...)
	require.Equal(w.e, "OK\x00", string(m.Payload), "%s %q: reply %v", op, args, m)
}

// fail sends op with args and requires an ERROR reply naming want.
func (w *wire) fail(want xenstore.Errno, op xenstore.Op, tx uint32, args ...string) {
	w.e.Helper()
	m := w.do(op, tx, args...)
	require.Equal(w.e, want, errno(m), "%s %q: reply %v", op, args, m)
}

// write sets path to value on this connection.
func (w *wire) write(path, value string) {
	w.e.Helper()
	m := w.raw(xenstore.OpWrite, 0, append(xenstore.Strings(path), value...))
	require.Equal(w.e, "OK\x00", string(m.Payload), "WRITE %s: reply %v", path, m)
}

// watch registers a watch (its initial event is left to be seen).
func (w *wire) watch(path, token string) {
	w.e.Helper()
	w.ok(xenstore.OpWatch, 0, path, token)
}

// resetWatches sends RESET_WATCHES, which drops the fence watch too.
func (w *wire) resetWatches() {
	w.e.Helper()
	w.ok(xenstore.OpResetWatches, 0, "")
	w.fenced = false
}

// sync returns every event the daemon sent before the moment of the call:
// it changes a node of its own that a watch of its own covers, and
// collects the events that arrive before that change's event. Changes made
// before sync by any connection whose request has been answered have their
// events in the result. Events of the fence watch itself are left out.
func (w *wire) sync() []ev {
	w.e.Helper()
	if !w.fenced {
		w.watch(w.fence, fenceToken)
		w.fenced = true
	}
	w.seq++
	mark := w.fence + "/" + strconv.Itoa(w.seq)
	w.write(mark, "")
	var got []ev
	for {
		select {
		case x := <-w.events:
			if x.Token == fenceToken {
				if x.Path == mark {
					return got
				}
				continue
			}
			got = append(got, x)
		case err := <-w.readErr:
			w.e.Fatalf("connection lost while waiting for the fence event %s: %v", mark, err)
		case <-w.e.ctx.Done():
			w.e.Fatalf("no fence event for %s (events so far %v): %v", mark, got, w.e.ctx.Err())
		}
	}
}

// expect requires that exactly the events want (in order) were sent
// before now.
func (w *wire) expect(want ...ev) {
	w.e.Helper()
	got := w.sync()
	if len(want) == 0 {
		require.Empty(w.e, got, "watch events")
		return
	}
	require.Equal(w.e, want, got, "watch events")
}

// expectSet is expect without the order and without counting identical
// events.
func (w *wire) expectSet(want ...ev) {
	w.e.Helper()
	got := w.sync()
	seen := make(map[ev]bool)
	var distinct []ev
	for _, x := range got {
		if !seen[x] {
			seen[x] = true
			distinct = append(distinct, x)
		}
	}
	require.ElementsMatch(w.e, want, distinct, "watch events (all: %v)", got)
}

// expectAnyOrder is expect without the order.
func (w *wire) expectAnyOrder(want ...ev) {
	w.e.Helper()
	require.ElementsMatch(w.e, want, w.sync(), "watch events")
}
