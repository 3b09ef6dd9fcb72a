package xenstored

import (
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// view is what an operation sees of the tree: the live tree (liveView, under
// the store's write lock) or a transaction's overlay (txView). Operations
// are written once against it (ops.go).
type view interface {
	// get returns the node at path, or nil. The node must not be modified.
	// A transaction remembers the node's generation to validate at commit.
	get(path string) *node
	// peek returns the node at path, or nil, remembering for a transaction
	// only that it must still exist (or still be missing) at commit, at any
	// generation: used for ancestors, whose child list may change freely.
	peek(path string) *node
	// create adds a node under an existing parent; fire says whether the
	// change fires watches (only the node a request names does, not the
	// parents created on the way).
	create(path string, value []byte, perms []xenstore.Perm, fire bool)
	// setValue and setPerms change an existing node.
	setValue(path string, value []byte)
	setPerms(path string, perms []xenstore.Perm)
	// remove deletes path and its subtree and drops it from its parent.
	remove(path string)
	// ownedCount is the number of nodes domid owns as this view sees them.
	ownedCount(domid uint32) int
}

// change is one modification, for firing watches.
type change struct {
	path  string
	perms []xenstore.Perm // of the node changed (before removal for a removal)
	// removed marks a subtree removal; below lists the nodes removed under
	// path, whose own watches fire too.
	removed bool
	below   []string
}

// liveView applies operations straight to the live tree. The caller holds
// the store's write lock.
type liveView struct {
	s       *store
	changes []change
}

func (v *liveView) get(path string) *node { return v.s.nodes[path] }

func (v *liveView) peek(path string) *node { return v.s.nodes[path] }

func (v *liveView) create(path string, value []byte, perms []xenstore.Perm, fire bool) {
	parent := v.s.nodes[xenstore.Parent(path)]
	v.s.addChild(parent, xenstore.Base(path))
	parent.gen = v.s.next()
	v.s.put(path, &node{value: value, perms: perms, gen: v.s.next()})
	if fire {
		v.changes = append(v.changes, change{path: path, perms: perms})
	}
}

func (v *liveView) setValue(path string, value []byte) {
	n := v.s.nodes[path]
	n.value = value
	n.gen = v.s.next()
	v.changes = append(v.changes, change{path: path, perms: n.perms})
}

func (v *liveView) setPerms(path string, perms []xenstore.Perm) {
	old := v.s.nodes[path]
	n := old.clone()
	n.perms = perms
	n.gen = v.s.next()
	v.s.put(path, n)
	v.changes = append(v.changes, change{path: path, perms: perms})
}

func (v *liveView) remove(path string) {
	n := v.s.nodes[path]
	if n == nil {
		return
	}
	perms := n.perms
	var below []string
	v.s.removeTree(path, func(p string, _ *node) {
		if p != path {
			below = append(below, p)
		}
	})
	if parent := v.s.nodes[xenstore.Parent(path)]; parent != nil {
		parent.children = removeChild(parent.children, xenstore.Base(path))
		parent.gen = v.s.next()
	}
	v.changes = append(v.changes, change{path: path, perms: perms, removed: true, below: below})
}

func (v *liveView) ownedCount(domid uint32) int { return v.s.ownedCount(domid) }
