package xenstored

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// conn is one client connection: a Unix socket (dom0, privileged) or an
// in-process domain connection standing for a guest's ring.
type conn struct {
	s     *Server
	nc    net.Conn
	dom   *domain // nil for a socket connection (dom0)
	domid uint32
	base  string // /local/domain/<domid>: relative paths resolve against it
	log   *slog.Logger

	// Owned by the reader goroutine.
	txs     map[uint32]*txn
	watches map[watchKey]*watch

	outMu   sync.Mutex
	out     []byte
	closed  bool
	dropped int // watch events dropped since the last successful write
	// droppedTotal counts every watch event dropped on this connection.
	droppedTotal atomic.Int64

	writeMu sync.Mutex // held while writing; guards spare
	spare   []byte

	wake chan struct{}
	done chan struct{}
}

// Output buffers above this size are not kept between writes.
const keepBufferBytes = 64 << 10

func newConn(s *Server, nc net.Conn, dom *domain) *conn {
	c := &conn{s: s, nc: nc, dom: dom, txs: make(map[uint32]*txn), watches: make(map[watchKey]*watch),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	// Relative paths resolve against the domain's home; a socket is dom0,
	// as C xenstored treats it.
	c.base = xenstore.DomainPath(0)
	if dom != nil {
		c.domid = dom.id
		c.base = xenstore.DomainPath(dom.id)
		c.log = s.log.With("domid", dom.id)
	} else {
		c.log = s.log.With("conn", "socket")
	}
	return c
}

func (c *conn) who() who {
	w := who{domid: c.domid, privileged: c.dom == nil || c.domid == 0}
	if c.dom != nil {
		if t := c.dom.target.Load(); t >= 0 {
			w.target, w.hasTarget = uint32(t), true
		}
	}
	return w
}

// quota returns the limits that apply to this connection, nil if exempt.
func (c *conn) quota() *quota {
	if c.dom == nil || c.domid == 0 {
		return nil
	}
	return c.dom.quota.Load()
}

// serve runs the reader loop until the connection ends, then cleans up.
func (c *conn) serve() {
	go c.writer()
	defer c.cleanup()
	br := bufio.NewReaderSize(c.nc, 16<<10)
	var hdr [xenstore.HeaderSize]byte
	payload := make([]byte, xenstore.PayloadMax)
	unflushed := 0
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Debug("xenstore connection read failed", "err", err)
			}
			return
		}
		h := xenstore.DecodeHeader(hdr[:])
		if h.Len > xenstore.PayloadMax {
			c.log.Warn("xenstore client sent an oversized payload; dropping the connection",
				"op", h.Op.String(), "len", h.Len)
			return
		}
		if _, err := io.ReadFull(br, payload[:h.Len]); err != nil {
			return
		}
		m := xenstore.Message{Op: h.Op, ReqID: h.ReqID, TxID: h.TxID, Payload: payload[:h.Len]}
		c.handle(m)
		unflushed++
		limit := 64
		if q := c.quota(); q != nil && q.Outstanding > 0 {
			limit = q.Outstanding
		}
		if br.Buffered() == 0 || unflushed >= limit || c.pending() > keepBufferBytes {
			if !c.flush() {
				return
			}
			unflushed = 0
		}
	}
}

func (c *conn) pending() int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return len(c.out)
}

// reply queues a reply; the reader flushes it.
// A reply that would exceed the payload limit is E2BIG instead.
func (c *conn) reply(op xenstore.Op, req xenstore.Message, payload []byte) {
	if len(payload) > xenstore.PayloadMax {
		op, payload = xenstore.OpError, xenstore.E2BIG.Payload()
	}
	m := xenstore.Message{Op: op, ReqID: req.ReqID, TxID: req.TxID, Payload: payload}
	c.outMu.Lock()
	if !c.closed {
		c.out = m.Append(c.out)
	}
	c.outMu.Unlock()
}

func (c *conn) replyErr(req xenstore.Message, e xenstore.Errno) {
	c.reply(xenstore.OpError, req, e.Payload())
}

var okPayload = []byte("OK\x00")

func (c *conn) replyOK(req xenstore.Message) { c.reply(req.Op, req, okPayload) }

// sendEvent queues a watch event. A client that lets more than the
// configured bytes pile up is dropped (a socket) or loses events (a
// domain, which cannot reconnect), with a log line either way.
func (c *conn) sendEvent(payload []byte) {
	watchEventsFired.Inc()
	m := xenstore.Message{Op: xenstore.OpWatchEvent, Payload: payload}
	c.outMu.Lock()
	if c.closed {
		c.outMu.Unlock()
		return
	}
	if len(c.out)+xenstore.HeaderSize+len(payload) > c.s.maxPending {
		if c.dom == nil {
			c.outMu.Unlock()
			c.log.Warn("xenstore client is not reading its watch events; dropping the connection",
				"pending_bytes", c.s.maxPending)
			c.close()
			return
		}
		c.dropped++
		c.droppedTotal.Add(1)
		first := c.dropped == 1
		c.outMu.Unlock()
		if first {
			c.log.Warn("domain is not reading its watch events; dropping events",
				"pending_bytes", c.s.maxPending)
		}
		return
	}
	c.out = m.Append(c.out)
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// flush writes whatever is queued. It reports false when the connection failed.
func (c *conn) flush() bool {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.outMu.Lock()
	buf := c.out
	c.out = c.spare[:0]
	if c.dropped > 0 && len(buf) > 0 {
		c.dropped = 0
	}
	c.outMu.Unlock()
	if len(buf) == 0 {
		c.spare = buf
		return true
	}
	_, err := c.nc.Write(buf)
	if cap(buf) <= keepBufferBytes {
		c.spare = buf[:0]
	} else {
		c.spare = nil
	}
	if err != nil {
		c.close()
		return false
	}
	return true
}

func (c *conn) writer() {
	for {
		select {
		case <-c.wake:
			if !c.flush() {
				return
			}
		case <-c.done:
			return
		}
	}
}

// close ends the connection; the reader then cleans up. Idempotent.
func (c *conn) close() {
	c.outMu.Lock()
	if c.closed {
		c.outMu.Unlock()
		return
	}
	c.closed = true
	c.out = nil
	c.outMu.Unlock()
	close(c.done)
	c.nc.Close()
}

// cleanup runs on the reader goroutine when the connection ends: it drops
// the connection's watches and transactions.
func (c *conn) cleanup() {
	c.close()
	for k, w := range c.watches {
		c.s.watches.remove(w)
		delete(c.watches, k)
		if c.dom != nil {
			c.dom.watches.Add(-1)
		}
	}
	if c.dom != nil {
		c.dom.txs.Add(-int32(len(c.txs)))
	}
	clear(c.txs)
	c.s.forget(c)
}
