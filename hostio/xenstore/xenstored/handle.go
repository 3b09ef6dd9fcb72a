package xenstored

import (
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// handle runs one request and queues its reply (and, for WATCH, the
// initial event). m.Payload is the reader's buffer: copy what is kept.
func (c *conn) handle(m xenstore.Message) {
	observeOp(m.Op)
	// Any request naming a transaction the connection does not have is
	// ENOENT, whatever its type, as in C xenstored.
	if m.TxID != 0 && c.txs[m.TxID] == nil {
		c.replyErr(m, xenstore.ENOENT)
		return
	}
	switch m.Op {
	case xenstore.OpRead, xenstore.OpDirectory, xenstore.OpDirectoryPart, xenstore.OpGetPerms:
		c.handleRead(m)
	case xenstore.OpWrite, xenstore.OpMkdir, xenstore.OpRm, xenstore.OpSetPerms:
		c.handleWrite(m)
	case xenstore.OpWatch:
		c.handleWatch(m)
	case xenstore.OpUnwatch:
		c.handleUnwatch(m)
	case xenstore.OpResetWatches:
		c.resetWatches()
		c.replyOK(m)
	case xenstore.OpTransactionStart:
		c.handleTransactionStart(m)
	case xenstore.OpTransactionEnd:
		c.handleTransactionEnd(m)
	case xenstore.OpGetDomainPath:
		c.handleGetDomainPath(m)
	case xenstore.OpIntroduce, xenstore.OpRelease, xenstore.OpIsDomainIntroduced,
		xenstore.OpResume, xenstore.OpSetTarget, xenstore.OpGetQuota, xenstore.OpSetQuota:
		if !c.who().privileged {
			c.replyErr(m, xenstore.EACCES)
			return
		}
		c.handleDomainOp(m)
	case xenstore.OpControl:
		c.handleControl(m)
	default:
		c.replyErr(m, xenstore.ENOSYS)
	}
}

// resolve turns a request path into an absolute node path; ok is false for
// an invalid path or a special (@) path.
func (c *conn) resolve(p string) (string, bool) {
	if !xenstore.ValidPath(p, true) || p[0] == '@' {
		return "", false
	}
	if p[0] != '/' {
		p = c.base + "/" + p
		if !xenstore.ValidPath(p, false) {
			return "", false
		}
	}
	return p, true
}

// txFor returns the transaction a request names, nil for none (handle
// already refused ids the connection does not have).
func (c *conn) txFor(m xenstore.Message) *txn {
	if m.TxID == 0 {
		return nil
	}
	return c.txs[m.TxID]
}

func (c *conn) handleRead(m xenstore.Message) {
	var args []string
	if m.Op == xenstore.OpDirectoryPart {
		args = xenstore.SplitStrings(m.Payload)
	} else if len(m.Payload) > 0 {
		var one [1]string
		one[0] = xenstore.FirstString(m.Payload)
		args = one[:]
	}
	if len(args) == 0 {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	if m.Op == xenstore.OpGetPerms && len(args[0]) > 0 && args[0][0] == '@' {
		c.getSpecialPerms(m, args[0])
		return
	}
	path, ok := c.resolve(args[0])
	if !ok {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	offset := 0
	if m.Op == xenstore.OpDirectoryPart {
		var err error
		if len(args) < 2 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		if offset, err = strconv.Atoi(args[1]); err != nil || offset < 0 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
	}
	tx := c.txFor(m)
	var v view = tx
	if tx == nil {
		c.s.tree.mu.RLock()
		defer c.s.tree.mu.RUnlock()
		v = &liveView{s: c.s.tree}
	}
	w := c.who()
	switch m.Op {
	case xenstore.OpRead:
		val, e := opRead(v, w, path)
		c.answer(m, val, e)
	case xenstore.OpGetPerms:
		perms, e := opGetPerms(v, w, path)
		c.answer(m, xenstore.Strings(xenstore.PermStrings(perms)...), e)
	case xenstore.OpDirectory:
		kids, _, e := opDirectory(v, w, path)
		if e != "" {
			c.answer(m, nil, e)
			return
		}
		c.reply(m.Op, m, xenstore.Strings(kids...))
	case xenstore.OpDirectoryPart:
		kids, gen, e := opDirectory(v, w, path)
		if e != "" {
			c.answer(m, nil, e)
			return
		}
		c.reply(m.Op, m, directoryPart(kids, gen, offset))
	}
}

func (c *conn) answer(m xenstore.Message, payload []byte, e xenstore.Errno) {
	if e != "" {
		c.replyErr(m, e)
		return
	}
	c.reply(m.Op, m, payload)
}

// directoryPart builds a DIRECTORY_PART reply as C xenstored does: the
// generation, then the whole names that fit from byte offset off of the
// NUL-separated child list, then an empty name if the list ends here.
func directoryPart(kids []string, gen uint64, off int) []byte {
	all := xenstore.Strings(kids...)
	out := strconv.AppendUint(nil, gen, 10)
	out = append(out, 0)
	if off >= len(all) {
		return append(out, 0)
	}
	maxlen := xenstore.PayloadMax - len(out) - 1
	n := 0
	for off+n < len(all) {
		i := n
		for all[off+i] != 0 {
			i++
		}
		i++ // the NUL
		if i > maxlen {
			break
		}
		n = i
	}
	out = append(out, all[off:off+n]...)
	if off+n == len(all) {
		out = append(out, 0)
	}
	return out
}

func (c *conn) handleWrite(m xenstore.Message) {
	var path string
	var value []byte
	var perms []xenstore.Perm
	switch m.Op {
	case xenstore.OpWrite:
		p, v, ok := xenstore.SplitPathValue(m.Payload)
		if !ok {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		path, value = p, append([]byte(nil), v...)
	case xenstore.OpSetPerms:
		args := xenstore.SplitStrings(m.Payload)
		if len(args) < 2 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		var err error
		if perms, err = xenstore.ParsePerms(args[1:]); err != nil {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		if len(args[0]) > 0 && args[0][0] == '@' {
			c.setSpecialPerms(m, args[0], perms)
			return
		}
		path = args[0]
	default:
		path = xenstore.FirstString(m.Payload)
	}
	abs, ok := c.resolve(path)
	if !ok {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	tx := c.txFor(m)
	w, q := c.who(), c.quota()
	if tx != nil {
		if q != nil && q.TransactionNodes > 0 && len(tx.nodes) >= q.TransactionNodes {
			c.replyErr(m, xenstore.ENOSPC)
			return
		}
		c.answer(m, okPayload, applyWrite(tx, w, q, m.Op, abs, value, perms))
		return
	}
	lv := liveView{s: c.s.tree}
	c.s.tree.mu.Lock()
	e := applyWrite(&lv, w, q, m.Op, abs, value, perms)
	c.s.tree.mu.Unlock()
	c.s.fire(lv.changes)
	c.answer(m, okPayload, e)
}

func applyWrite(v view, w who, q *quota, op xenstore.Op, path string, value []byte, perms []xenstore.Perm) xenstore.Errno {
	switch op {
	case xenstore.OpWrite:
		return opWrite(v, w, q, path, value)
	case xenstore.OpMkdir:
		return opMkdir(v, w, q, path)
	case xenstore.OpRm:
		return opRm(v, w, path)
	default:
		return opSetPerms(v, w, q, path, perms)
	}
}

func (c *conn) getSpecialPerms(m xenstore.Message, name string) {
	r := c.s.watches
	r.mu.RLock()
	perms, ok := r.specialPerms[name]
	r.mu.RUnlock()
	switch {
	case !ok:
		c.replyErr(m, xenstore.ENOENT)
	case !c.who().canRead(perms):
		c.replyErr(m, xenstore.EACCES)
	default:
		c.reply(m.Op, m, xenstore.Strings(xenstore.PermStrings(perms)...))
	}
}

func (c *conn) setSpecialPerms(m xenstore.Message, name string, perms []xenstore.Perm) {
	r := c.s.watches
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.specialPerms[name]
	switch {
	case !ok:
		c.replyErr(m, xenstore.ENOENT)
	case !c.who().isOwner(old):
		c.replyErr(m, xenstore.EACCES)
	default:
		r.specialPerms[name] = perms
		c.replyOK(m)
	}
}
