package xenstore

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fake is a scripted xenstore daemon on the far end of a connection. Without
// a handler, requests queue on reqs for the test to answer by hand; with
// one, the handler answers each request as it arrives.
type fake struct {
	t       testing.TB
	conn    net.Conn
	reqs    chan Message
	handler func(f *fake, m Message)

	wmu sync.Mutex

	mu   sync.Mutex
	seen []Message // every request, in order
}

// newFake connects a Client to a fake over net.Pipe.
func newFake(t testing.TB, handler func(f *fake, m Message)) (*Client, *fake) {
	t.Helper()
	a, b := net.Pipe()
	f := &fake{t: t, conn: b, reqs: make(chan Message, 4096), handler: handler}
	go f.loop()
	c := NewClient(a)
	t.Cleanup(func() {
		_ = c.Close()
		_ = b.Close()
	})
	return c, f
}

func (f *fake) loop() {
	defer close(f.reqs)
	for {
		m, err := ReadMessage(f.conn)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.seen = append(f.seen, m)
		f.mu.Unlock()
		if f.handler != nil {
			f.handler(f, m)
		} else {
			f.reqs <- m
		}
	}
}

// requests returns a copy of every request received so far.
func (f *fake) requests() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.seen...)
}

// next returns the next request, failing the test after five seconds.
func (f *fake) next() Message {
	f.t.Helper()
	select {
	case m, ok := <-f.reqs:
		require.True(f.t, ok, "connection closed while waiting for a request")
		return m
	case <-time.After(5 * time.Second):
		f.t.Fatal("no request within 5s")
		return Message{}
	}
}

// none checks that no request is waiting.
func (f *fake) none() {
	f.t.Helper()
	select {
	case m := <-f.reqs:
		f.t.Fatalf("unexpected request %v", m)
	default:
	}
}

func (f *fake) send(m Message) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	_, _ = f.conn.Write(m.Append(nil))
}

func (f *fake) reply(req Message, payload []byte) {
	f.send(Message{Op: req.Op, ReqID: req.ReqID, TxID: req.TxID, Payload: payload})
}

func (f *fake) ok(req Message) { f.reply(req, []byte("OK\x00")) }

func (f *fake) fail(req Message, e Errno) {
	f.send(Message{Op: OpError, ReqID: req.ReqID, TxID: req.TxID, Payload: e.Payload()})
}

func (f *fake) event(path, token string) {
	f.send(Message{Op: OpWatchEvent, Payload: Strings(path, token)})
}

// okHandler answers every request OK, WATCH with the immediate event too.
func okHandler(f *fake, m Message) {
	f.ok(m)
	if m.Op == OpWatch {
		ss := SplitStrings(m.Payload)
		f.event(ss[0], ss[1])
	}
}

// async runs fn in a goroutine and returns a channel with its result.
func async[T any](fn func() (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		v, err := fn()
		ch <- result[T]{v, err}
	}()
	return ch
}

type result[T any] struct {
	v   T
	err error
}

// wait receives a result, failing the test after five seconds.
func wait[T any](t testing.TB, ch <-chan result[T]) (T, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(5 * time.Second):
		t.Fatal("call did not return within 5s")
		var zero T
		return zero, nil
	}
}

// recvEvent receives one watch event, failing after five seconds.
func recvEvent(t testing.TB, w *Watch) WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		require.True(t, ok, "watch channel closed")
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event within 5s")
		return WatchEvent{}
	}
}

// requireClosed waits for the watch channel to close, draining it.
func requireClosed(t testing.TB, w *Watch) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-w.Events():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed within 5s")
		}
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
