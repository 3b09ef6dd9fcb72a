package xenstore

import (
	"fmt"
	"strconv"
)

// Access is a permission letter: n none, r read, w write, b both.
type Access byte

// The permission letters.
const (
	AccessNone  Access = 'n'
	AccessRead  Access = 'r'
	AccessWrite Access = 'w'
	AccessBoth  Access = 'b'
)

// CanRead reports whether the letter grants read access.
func (a Access) CanRead() bool { return a == AccessRead || a == AccessBoth }

// CanWrite reports whether the letter grants write access.
func (a Access) CanWrite() bool { return a == AccessWrite || a == AccessBoth }

// Perm is one permission entry, "r5". In a node's list the first entry names
// the owner, and its letter is the access of every domain not listed.
type Perm struct {
	Domid  uint32
	Access Access
}

func (p Perm) String() string {
	return string(rune(p.Access)) + strconv.FormatUint(uint64(p.Domid), 10)
}

// ParsePerm parses "r5".
func ParsePerm(s string) (Perm, error) {
	if len(s) < 2 {
		return Perm{}, fmt.Errorf("xenstore: bad permission %q", s)
	}
	a := Access(s[0])
	switch a {
	case AccessNone, AccessRead, AccessWrite, AccessBoth:
	default:
		return Perm{}, fmt.Errorf("xenstore: bad permission letter in %q", s)
	}
	d, ok := ParseDomid(s[1:])
	if !ok {
		return Perm{}, fmt.Errorf("xenstore: bad domain id in permission %q", s)
	}
	return Perm{Domid: d, Access: a}, nil
}

// ParsePerms parses a list of permission strings; the list must not be empty.
func ParsePerms(ss []string) ([]Perm, error) {
	if len(ss) == 0 {
		return nil, fmt.Errorf("xenstore: empty permission list")
	}
	out := make([]Perm, len(ss))
	for i, s := range ss {
		p, err := ParsePerm(s)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// PermStrings formats a permission list for the wire.
func PermStrings(ps []Perm) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
