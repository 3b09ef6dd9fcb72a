package xenstored

import (
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

func (c *conn) handleWatch(m xenstore.Message) {
	args := xenstore.SplitStrings(m.Payload)
	if len(args) < 2 {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	w := &watch{c: c, path: args[0], token: args[1], depth: -1}
	if len(args) >= 3 && args[2] != "" {
		d, err := strconv.Atoi(args[2])
		if err != nil || d < 0 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		w.depth = d
	}
	if len(w.path) > 0 && w.path[0] == '@' {
		if !xenstore.ValidPath(w.path, false) {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		w.abs = w.path
	} else {
		abs, ok := c.resolve(w.path)
		if !ok {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		w.abs = abs
	}
	key := watchKey{w.abs, w.token}
	if c.watches[key] != nil {
		c.replyErr(m, xenstore.EEXIST)
		return
	}
	if q := c.quota(); q != nil && q.Watches > 0 && int(c.dom.watches.Load()) >= q.Watches {
		c.replyErr(m, xenstore.ENOSPC)
		return
	}
	if c.dom != nil {
		c.dom.watches.Add(1)
	}
	c.watches[key] = w
	c.s.watches.add(w)
	c.replyOK(m)
	// The initial event, whatever the permissions, as C xenstored does.
	c.sendEvent(xenstore.Strings(w.path, w.token))
}

func (c *conn) handleUnwatch(m xenstore.Message) {
	args := xenstore.SplitStrings(m.Payload)
	if len(args) < 2 {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	abs := args[0]
	if len(abs) == 0 || abs[0] != '@' {
		var ok bool
		if abs, ok = c.resolve(args[0]); !ok {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
	}
	key := watchKey{abs, args[1]}
	w := c.watches[key]
	if w == nil {
		c.replyErr(m, xenstore.ENOENT)
		return
	}
	c.dropWatch(key, w)
	c.replyOK(m)
}

func (c *conn) dropWatch(key watchKey, w *watch) {
	delete(c.watches, key)
	c.s.watches.remove(w)
	if c.dom != nil {
		c.dom.watches.Add(-1)
	}
}

// resetWatches drops all the connection's watches and transactions.
func (c *conn) resetWatches() {
	for k, w := range c.watches {
		c.dropWatch(k, w)
	}
	if c.dom != nil {
		c.dom.txs.Add(-int32(len(c.txs)))
	}
	clear(c.txs)
}

func (c *conn) handleTransactionStart(m xenstore.Message) {
	if m.TxID != 0 {
		c.replyErr(m, xenstore.EBUSY)
		return
	}
	if q := c.quota(); q != nil && q.Transactions > 0 && int(c.dom.txs.Load()) >= q.Transactions {
		c.replyErr(m, xenstore.ENOSPC)
		return
	}
	id := c.s.txSeq.Add(1)
	for id == 0 || c.txs[id] != nil {
		id = c.s.txSeq.Add(1)
	}
	c.txs[id] = newTxn(id, c.s.tree)
	if c.dom != nil {
		c.dom.txs.Add(1)
	}
	c.reply(m.Op, m, xenstore.Strings(strconv.FormatUint(uint64(id), 10)))
}

func (c *conn) handleTransactionEnd(m xenstore.Message) {
	t := c.txs[m.TxID]
	if t == nil {
		c.replyErr(m, xenstore.ENOENT)
		return
	}
	arg := xenstore.FirstString(m.Payload)
	if arg != "T" && arg != "F" {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	delete(c.txs, m.TxID)
	if c.dom != nil {
		c.dom.txs.Add(-1)
	}
	if arg == "F" {
		c.replyOK(m)
		return
	}
	changes, e := t.commit(c.domid, c.quota())
	if e != "" {
		c.replyErr(m, e)
		return
	}
	c.s.fire(changes)
	c.replyOK(m)
}
