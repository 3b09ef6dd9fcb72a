package xenstored

import (
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// The tree operations, written once against a view so that they behave the
// same inside and outside transactions. Paths are absolute and valid; the
// caller resolved relative ones. q is nil for privileged callers.

// missing returns the error for a node that does not exist: ENOENT when the
// caller may read its nearest existing ancestor, EACCES otherwise, so that
// existence does not leak (C xenstored's errno_from_parents).
func missing(v view, w who, path string) xenstore.Errno {
	for p := xenstore.Parent(path); ; p = xenstore.Parent(p) {
		if a := v.peek(p); a != nil {
			if w.canRead(a.perms) {
				return xenstore.ENOENT
			}
			return xenstore.EACCES
		}
		if p == "/" {
			return xenstore.ENOENT
		}
	}
}

func readable(v view, w who, path string) (*node, xenstore.Errno) {
	n := v.get(path)
	if n == nil {
		return nil, missing(v, w, path)
	}
	if !w.canRead(n.perms) {
		return nil, xenstore.EACCES
	}
	return n, ""
}

func opRead(v view, w who, path string) ([]byte, xenstore.Errno) {
	n, e := readable(v, w, path)
	if e != "" {
		return nil, e
	}
	return n.value, ""
}

func opDirectory(v view, w who, path string) ([]string, uint64, xenstore.Errno) {
	n, e := readable(v, w, path)
	if e != "" {
		return nil, 0, e
	}
	return n.children, n.gen, ""
}

func opGetPerms(v view, w who, path string) ([]xenstore.Perm, xenstore.Errno) {
	n, e := readable(v, w, path)
	if e != "" {
		return nil, e
	}
	return n.perms, ""
}

func opWrite(v view, w who, q *quota, path string, value []byte) xenstore.Errno {
	if q != nil && q.NodeSize > 0 && len(value) > q.NodeSize {
		return xenstore.ENOSPC
	}
	if n := v.get(path); n != nil {
		if !w.canWrite(n.perms) {
			return xenstore.EACCES
		}
		v.setValue(path, value)
		return ""
	}
	return create(v, w, q, path, value)
}

func opMkdir(v view, w who, q *quota, path string) xenstore.Errno {
	if n := v.get(path); n != nil {
		if !w.canWrite(n.perms) {
			return xenstore.EACCES
		}
		return ""
	}
	return create(v, w, q, path, nil)
}

// create makes path and any missing parents. The caller must be allowed to
// write the nearest existing ancestor; the new nodes inherit its
// permissions (owned by the creator when unprivileged).
func create(v view, w who, q *quota, path string, value []byte) xenstore.Errno {
	chain := []string{path}
	var anc *node
	for p := xenstore.Parent(path); ; p = xenstore.Parent(p) {
		if anc = v.peek(p); anc != nil {
			break
		}
		chain = append(chain, p)
	}
	if !w.canWrite(anc.perms) {
		return xenstore.EACCES
	}
	perms := w.inherit(anc.perms)
	if q != nil && q.Nodes > 0 && perms[0].Domid == w.domid &&
		v.ownedCount(w.domid)+len(chain) > q.Nodes {
		return xenstore.ENOSPC
	}
	for i := len(chain) - 1; i >= 0; i-- {
		var val []byte
		if i == 0 {
			val = value
		}
		v.create(chain[i], val, perms, i == 0)
	}
	return ""
}

func opRm(v view, w who, path string) xenstore.Errno {
	if path == "/" {
		return xenstore.EINVAL
	}
	n := v.get(path)
	if n == nil {
		// Removing a missing node is fine if its parent exists.
		e := missing(v, w, path)
		if e == xenstore.ENOENT && v.peek(xenstore.Parent(path)) != nil {
			return ""
		}
		return e
	}
	if !w.canWrite(n.perms) {
		return xenstore.EACCES
	}
	v.remove(path)
	return ""
}

func opSetPerms(v view, w who, q *quota, path string, perms []xenstore.Perm) xenstore.Errno {
	n := v.get(path)
	if n == nil {
		return missing(v, w, path)
	}
	if !w.isOwner(n.perms) {
		return xenstore.EACCES
	}
	if !w.privileged && perms[0].Domid != n.owner() {
		return xenstore.EPERM
	}
	if q != nil && q.Perms > 0 && len(perms) > q.Perms {
		return xenstore.ENOSPC
	}
	v.setPerms(path, perms)
	return ""
}
