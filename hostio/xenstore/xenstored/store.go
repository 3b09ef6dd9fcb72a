package xenstored

import (
	"slices"
	"sync"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// node is one xenstore node. Nodes in the live tree are replaced, never
// mutated, outside the store's write lock; value, perms and children slices
// are shared with transaction overlays and so are copied before any change
// other than an append.
type node struct {
	value    []byte
	perms    []xenstore.Perm
	children []string
	gen      uint64
}

func (n *node) owner() uint32 { return n.perms[0].Domid }

func (n *node) clone() *node {
	c := *n
	return &c
}

// store is the live tree.
type store struct {
	mu    sync.RWMutex
	nodes map[string]*node
	gen   uint64
	// owned indexes the nodes owned by each domain other than dom0, for the
	// node quota and for removing a released domain's nodes.
	owned map[uint32]map[string]struct{}
}

func newStore() *store {
	s := &store{nodes: make(map[string]*node), owned: make(map[uint32]map[string]struct{})}
	root := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}}
	s.nodes["/"] = &node{perms: root, children: []string{"tool"}, gen: s.next()}
	s.nodes["/tool"] = &node{perms: root, children: []string{"xenstored"}, gen: s.next()}
	s.nodes["/tool/xenstored"] = &node{perms: root, gen: s.next()}
	return s
}

func (s *store) next() uint64 { s.gen++; return s.gen }

func (s *store) ownedCount(domid uint32) int { return len(s.owned[domid]) }

func (s *store) index(path string, owner uint32) {
	if owner == 0 {
		return
	}
	m := s.owned[owner]
	if m == nil {
		m = make(map[string]struct{})
		s.owned[owner] = m
	}
	m[path] = struct{}{}
}

func (s *store) unindex(path string, owner uint32) {
	if owner == 0 {
		return
	}
	if m := s.owned[owner]; m != nil {
		delete(m, path)
		if len(m) == 0 {
			delete(s.owned, owner)
		}
	}
}

// put installs n at path (a new node or a replacement) and keeps the owner
// index right. The caller holds mu for writing and has set n.gen.
func (s *store) put(path string, n *node) {
	if old := s.nodes[path]; old != nil && old.owner() != n.owner() {
		s.unindex(path, old.owner())
	}
	s.nodes[path] = n
	s.index(path, n.owner())
}

// removeTree deletes path and everything below it, depth first, and calls
// fn for each removed node (children before parents). It does not touch the
// parent's child list.
func (s *store) removeTree(path string, fn func(path string, n *node)) {
	n := s.nodes[path]
	if n == nil {
		return
	}
	for _, c := range n.children {
		s.removeTree(join(path, c), fn)
	}
	delete(s.nodes, path)
	s.unindex(path, n.owner())
	if fn != nil {
		fn(path, n)
	}
}

// addChild appends name to parent's child list in the live tree.
func (s *store) addChild(parent *node, name string) {
	if !slices.Contains(parent.children, name) {
		// Appending in place is safe: overlays only see their own length.
		parent.children = append(parent.children, name)
	}
}

// removeChild drops name from parent's child list, copying the list so that
// overlays sharing it see no change.
func removeChild(children []string, name string) []string {
	i := slices.Index(children, name)
	if i < 0 {
		return children
	}
	out := make([]string, 0, len(children)-1)
	out = append(out, children[:i]...)
	return append(out, children[i+1:]...)
}

func join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
