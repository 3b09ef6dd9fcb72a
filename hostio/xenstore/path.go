package xenstore

import (
	"strconv"
	"strings"
)

// ValidPath reports whether p is a legal xenstore path: characters
// [A-Za-z0-9-/_@], not empty, no "//", no trailing "/" except the root;
// relative paths (allowed only when relative is true) up to RelPathMax
// bytes; absolute paths up to AbsPathMax bytes, of which at most RelPathMax
// after a leading /local/domain/<domid>/ (the whole path elsewhere), as C
// xenstored counts. Special watch paths (@...) are valid.
func ValidPath(p string, relative bool) bool {
	if p == "" {
		return false
	}
	if p[0] == '@' {
		return len(p) <= AbsPathMax && validChars(p)
	}
	if p[0] != '/' {
		if !relative || len(p) > RelPathMax {
			return false
		}
	} else if len(p) > AbsPathMax || len(p)-domainPrefixLen(p) > RelPathMax {
		// As C xenstored: below /local/domain/<domid>/ a path may have
		// RelPathMax bytes more; elsewhere RelPathMax in all.
		return false
	}
	if p == "/" {
		return true
	}
	if p[len(p)-1] == '/' || strings.Contains(p, "//") {
		return false
	}
	return validChars(p)
}

func validChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '/', c == '_', c == '@':
		default:
			return false
		}
	}
	return true
}

// DomainPath returns /local/domain/<domid>, the base of a domain's relative paths.
func DomainPath(domid uint32) string {
	return localDomainStem + strconv.FormatUint(uint64(domid), 10)
}

// IsChild reports whether child equals parent or lies below it
// (xenstore.txt's definition, with "/" the parent of everything).
func IsChild(child, parent string) bool {
	if parent == "/" {
		return strings.HasPrefix(child, "/")
	}
	return child == parent || (strings.HasPrefix(child, parent) && child[len(parent)] == '/')
}

// Parent returns the parent of an absolute, canonical path ("/" for "/a").
func Parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Base returns the last element of an absolute, canonical path.
func Base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// ParseDomid parses a decimal domain id in 0..65535 (the payload form).
func ParseDomid(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxDomid {
		return 0, false
	}
	return uint32(n), true
}

// domainPrefixLen is the length of a leading "/local/domain/<domid>/", or 0.
func domainPrefixLen(p string) int {
	rest, ok := strings.CutPrefix(p, localDomainStem)
	if !ok {
		return 0
	}
	i := strings.IndexByte(rest, '/')
	if i <= 0 || i > 5 {
		return 0
	}
	for _, c := range rest[:i] {
		if c < '0' || c > '9' {
			return 0
		}
	}
	return len(localDomainStem) + i + 1
}
