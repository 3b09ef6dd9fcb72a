package xenstored

import (
	"slices"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// checkMode is what a transaction requires of a node at commit.
type checkMode uint8

const (
	// checkExists: the node must still exist, or still be missing, as when
	// first seen (ancestors looked at for permissions or as parents).
	checkExists checkMode = iota
	// checkGen: the node must be unchanged (it was read).
	checkGen
)

// txNode is a transaction's record of one node.
type txNode struct {
	orig    uint64 // generation when first seen; 0 if it was missing
	mode    checkMode
	n       *node // the transaction's view; nil if missing or removed
	private bool  // n is the transaction's own copy
	dirty   bool  // created, removed, or value or permissions changed
	fresh   bool  // (re)created in the transaction: starts with no children
	added   []string
	removed []string
}

// txn is an open transaction: an overlay over the live tree, validated and
// applied at commit. It holds no lock between requests.
type txn struct {
	id      uint32
	s       *store
	nodes   map[string]*txNode
	changes []change
	owned   map[uint32]int // change in nodes owned per domain
}

func newTxn(id uint32, s *store) *txn {
	return &txn{id: id, s: s, nodes: make(map[string]*txNode), owned: make(map[uint32]int)}
}

func (t *txn) load(path string) *txNode {
	if e := t.nodes[path]; e != nil {
		return e
	}
	e := &txNode{}
	t.s.mu.RLock()
	if live := t.s.nodes[path]; live != nil {
		e.n = live.clone()
		e.orig = live.gen
	}
	t.s.mu.RUnlock()
	t.nodes[path] = e
	return e
}

func (e *txNode) own() *node {
	if !e.private {
		e.n = e.n.clone()
		e.n.children = slices.Clip(e.n.children)
		e.private = true
	}
	return e.n
}

// noteChild adds name to (or removes it from) the node's child list in the
// transaction, and records the change for the merge at commit: an addition
// cancels an earlier removal of the same name, and the other way round.
func (e *txNode) noteChild(name string, add bool) {
	p := e.own()
	undo, do := &e.added, &e.removed
	if add {
		p.children = append(p.children, name)
		undo, do = &e.removed, &e.added
	} else {
		p.children = removeChild(p.children, name)
	}
	if i := slices.Index(*undo, name); i >= 0 {
		*undo = slices.Delete(*undo, i, i+1)
	} else {
		*do = append(*do, name)
	}
}

func (t *txn) get(path string) *node {
	e := t.load(path)
	e.mode = checkGen
	return e.n
}

func (t *txn) peek(path string) *node { return t.load(path).n }

func (t *txn) create(path string, value []byte, perms []xenstore.Perm, fire bool) {
	t.load(xenstore.Parent(path)).noteChild(xenstore.Base(path), true)
	e := t.load(path)
	e.n = &node{value: value, perms: perms}
	e.private, e.dirty, e.fresh = true, true, true
	t.owned[perms[0].Domid]++
	if fire {
		t.changes = append(t.changes, change{path: path, perms: perms})
	}
}

func (t *txn) setValue(path string, value []byte) {
	e := t.load(path)
	e.own().value = value
	e.dirty = true
	t.changes = append(t.changes, change{path: path, perms: e.n.perms})
}

func (t *txn) setPerms(path string, perms []xenstore.Perm) {
	e := t.load(path)
	t.owned[e.n.owner()]--
	t.owned[perms[0].Domid]++
	e.own().perms = perms
	e.dirty = true
	t.changes = append(t.changes, change{path: path, perms: perms})
}

func (t *txn) remove(path string) {
	e := t.load(path)
	if e.n == nil {
		return
	}
	perms := e.n.perms
	var below []string
	t.removeTree(path, e, &below)
	t.load(xenstore.Parent(path)).noteChild(xenstore.Base(path), false)
	t.changes = append(t.changes, change{path: path, perms: perms, removed: true, below: below})
}

// removeTree marks path and its subtree removed; every node in it must be
// unchanged at commit, so a concurrent addition below it conflicts.
func (t *txn) removeTree(path string, e *txNode, below *[]string) {
	e.mode = checkGen
	for _, c := range e.n.children {
		cp := join(path, c)
		if ce := t.load(cp); ce.n != nil {
			t.removeTree(cp, ce, below)
			*below = append(*below, cp)
		}
	}
	t.owned[e.n.owner()]--
	e.n, e.private, e.dirty, e.fresh = nil, false, true, false
	e.added, e.removed = nil, nil
}

func (t *txn) ownedCount(domid uint32) int {
	t.s.mu.RLock()
	n := t.s.ownedCount(domid)
	t.s.mu.RUnlock()
	return n + t.owned[domid]
}

// commit validates the transaction against the live tree and applies it,
// returning the changes to fire, or EAGAIN on a conflict, or ENOSPC when
// domid (with quota q, nil if exempt) would exceed its node quota.
func (t *txn) commit(domid uint32, q *quota) ([]change, xenstore.Errno) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for path, e := range t.nodes {
		live := s.nodes[path]
		if (live == nil) != (e.orig == 0) {
			return nil, xenstore.EAGAIN
		}
		if e.mode == checkGen && live != nil && live.gen != e.orig {
			return nil, xenstore.EAGAIN
		}
	}
	if q != nil && q.Nodes > 0 && t.owned[domid] > 0 && s.ownedCount(domid)+t.owned[domid] > q.Nodes {
		return nil, xenstore.ENOSPC
	}
	// Removals, then creations and changes, then child-list merges: the
	// merge adds this transaction's children to whatever others added
	// meanwhile, so parallel creation under one parent does not conflict.
	for path, e := range t.nodes {
		if e.dirty && e.n == nil {
			if live := s.nodes[path]; live != nil {
				delete(s.nodes, path)
				s.unindex(path, live.owner())
			}
		}
	}
	for path, e := range t.nodes {
		if !e.dirty || e.n == nil {
			continue
		}
		nn := &node{value: e.n.value, perms: e.n.perms, gen: s.next()}
		if live := s.nodes[path]; live != nil && !e.fresh {
			nn.children = live.children
		}
		s.put(path, nn)
	}
	for path, e := range t.nodes {
		if len(e.added) == 0 && len(e.removed) == 0 {
			continue
		}
		live := s.nodes[path]
		if live == nil {
			continue
		}
		for _, c := range e.removed {
			live.children = removeChild(live.children, c)
		}
		for _, c := range e.added {
			s.addChild(live, c)
		}
		live.gen = s.next()
	}
	return t.changes, ""
}
