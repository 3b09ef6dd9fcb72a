package xenstored

import (
	"sync"
	"sync/atomic"
)

// domain is what the daemon knows of a domain: whether it is introduced,
// its quota and usage, its device-model target and its connections.
type domain struct {
	id         uint32
	introduced bool
	// releaseFired is set once @releaseDomain fired for a shutdown; RESUME
	// clears it.
	releaseFired bool
	// quota is replaced whole (SET_QUOTA, under the table's lock) and read
	// without a lock by the domain's connections.
	quota   atomic.Pointer[Quota]
	target  atomic.Int64 // -1: none
	watches atomic.Int32
	txs     atomic.Int32
	conns   map[*conn]struct{}
}

type domainTable struct {
	mu     sync.Mutex
	m      map[uint32]*domain
	global Quota
}

func (t *domainTable) lookup(id uint32) *domain {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// ensure returns the domain record for id, creating it (not introduced)
// with the global quota.
func (t *domainTable) ensureLocked(id uint32) *domain {
	d := t.m[id]
	if d == nil {
		d = &domain{id: id, conns: make(map[*conn]struct{})}
		q := t.global
		d.quota.Store(&q)
		d.target.Store(-1)
		t.m[id] = d
	}
	return d
}
