package events

import (
	"container/list"
	"strconv"
)

// DefaultMaxTracked is how many ids the stream remembers unless WithMaxTracked
// says otherwise.
const DefaultMaxTracked = 100_000

// barrierPrefix starts the id of every barrier in the stream.
const barrierPrefix = "barrier/"

// BarrierID returns the stream id of barrier n.
func BarrierID(n int) string { return barrierPrefix + strconv.Itoa(n) }

// entry is the latest change of one id.
type entry struct {
	id      string
	seq     uint64
	removed bool
}

// changeLog keeps, per id, the sequence of its latest change, ordered by that
// sequence so the ids changed after a point are a suffix of the list.
type changeLog struct {
	seq   uint64                   // the last sequence handed out
	floor uint64                   // the newest sequence dropped for the bound
	byID  map[string]*list.Element // id -> its entry in order
	order *list.List               // *entry, oldest change at the front
	max   int                      // ids tracked at most
}

func newChangeLog(maxTracked int) *changeLog {
	return &changeLog{
		byID:  make(map[string]*list.Element),
		order: list.New(),
		max:   maxTracked,
	}
}

// record notes a change of id (its removal when removed is set), moving the
// id to the end of the order, and returns the change's sequence. When the log
// is over its bound it drops the oldest ids and raises the floor.
func (l *changeLog) record(id string, removed bool) uint64 {
	l.seq++
	if el, ok := l.byID[id]; ok {
		e := el.Value.(*entry)
		e.seq, e.removed = l.seq, removed
		l.order.MoveToBack(el)
	} else {
		l.byID[id] = l.order.PushBack(&entry{id: id, seq: l.seq, removed: removed})
	}
	for l.order.Len() > l.max {
		oldest := l.order.Front()
		e := oldest.Value.(*entry)
		l.order.Remove(oldest)
		delete(l.byID, e.id)
		l.floor = e.seq
	}
	return l.seq
}

// since answers a Get from the sequence from: the ids changed after it (live
// objects and removed ones apart), in the order of their latest change.
func (l *changeLog) since(from uint64) *GetReply {
	reply := &GetReply{Next: l.seq}
	if from < l.floor || from > l.seq {
		reply.Resync = true
		return reply
	}
	// Walk back from the newest change to the first one the client has seen.
	var newest []*entry
	for el := l.order.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*entry)
		if e.seq <= from {
			break
		}
		newest = append(newest, e)
	}
	for i := len(newest) - 1; i >= 0; i-- {
		if newest[i].removed {
			reply.Removed = append(reply.Removed, newest[i].id)
		} else {
			reply.IDs = append(reply.IDs, newest[i].id)
		}
	}
	return reply
}

// pending reports whether a Get from the sequence from has something to
// return at once: changes after it, or a resync.
func (l *changeLog) pending(from uint64) bool {
	return from != l.seq
}
