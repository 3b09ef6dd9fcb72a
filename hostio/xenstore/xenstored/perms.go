package xenstored

import (
	"slices"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// who is the identity a request is checked against.
type who struct {
	domid      uint32
	target     uint32 // domain this one may act for (SET_TARGET), if hasTarget
	hasTarget  bool
	privileged bool
}

// access returns the letter that applies to w on a node with perms, as C
// xenstored's perm_for_conn: privileged and owner (or owner's controller)
// get both; else the first ACL entry naming w or its target; else the
// owner entry's letter, the default for everyone else.
func (w who) access(perms []xenstore.Perm) xenstore.Access {
	if w.privileged {
		return xenstore.AccessBoth
	}
	owner := perms[0].Domid
	if owner == w.domid || (w.hasTarget && owner == w.target) {
		return xenstore.AccessBoth
	}
	for _, p := range perms[1:] {
		if p.Domid == w.domid || (w.hasTarget && p.Domid == w.target) {
			return p.Access
		}
	}
	return perms[0].Access
}

// isOwner reports whether w may change the permissions of a node.
func (w who) isOwner(perms []xenstore.Perm) bool {
	return w.privileged || perms[0].Domid == w.domid || (w.hasTarget && perms[0].Domid == w.target)
}

func (w who) canRead(perms []xenstore.Perm) bool  { return w.access(perms).CanRead() }
func (w who) canWrite(perms []xenstore.Perm) bool { return w.access(perms).CanWrite() }

// inherit returns the permissions of a node w creates below a parent with
// perms: the parent's, but owned by the creator when it is unprivileged
// (and without an ACL entry for it), as C xenstored does.
func (w who) inherit(perms []xenstore.Perm) []xenstore.Perm {
	if w.privileged || perms[0].Domid == w.domid {
		return perms
	}
	out := make([]xenstore.Perm, 0, len(perms))
	out = append(out, xenstore.Perm{Domid: w.domid, Access: perms[0].Access})
	for _, p := range perms[1:] {
		if p.Domid != w.domid {
			out = append(out, p)
		}
	}
	return slices.Clip(out)
}
