package xenstored

import (
	"strconv"
	"strings"
	"sync"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// watch is one registered watch.
type watch struct {
	c     *conn
	path  string // as registered: relative for a relative watch
	abs   string // absolute, or the special name
	token string
	depth int // levels below path that fire; -1 unlimited
}

type watchKey struct{ path, token string }

// wtrie indexes watches by path component, so that a change at P visits
// only the watches on P and its ancestors (and, for a removal, below P).
type wtrie struct {
	kids    map[string]*wtrie
	watches []*watch
}

type watchRegistry struct {
	mu      sync.RWMutex
	root    wtrie
	special map[string][]*watch
	// specialPerms are the permissions of @introduceDomain and @releaseDomain.
	specialPerms map[string][]xenstore.Perm
}

func newWatchRegistry() *watchRegistry {
	dom0 := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}}
	return &watchRegistry{
		special: make(map[string][]*watch),
		specialPerms: map[string][]xenstore.Perm{
			xenstore.WatchIntroduceDomain: dom0,
			xenstore.WatchReleaseDomain:   dom0,
		},
	}
}

func components(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func (r *watchRegistry) add(w *watch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.abs[0] == '@' {
		r.special[w.abs] = append(r.special[w.abs], w)
		return
	}
	t := &r.root
	for _, c := range components(w.abs) {
		k := t.kids[c]
		if k == nil {
			if t.kids == nil {
				t.kids = make(map[string]*wtrie)
			}
			k = &wtrie{}
			t.kids[c] = k
		}
		t = k
	}
	t.watches = append(t.watches, w)
}

func (r *watchRegistry) remove(w *watch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.abs[0] == '@' {
		r.special[w.abs] = without(r.special[w.abs], w)
		if len(r.special[w.abs]) == 0 {
			delete(r.special, w.abs)
		}
		return
	}
	r.root.remove(components(w.abs), w)
}

// remove drops w below t and prunes empty branches; it reports whether t is
// now empty.
func (t *wtrie) remove(comps []string, w *watch) bool {
	if len(comps) == 0 {
		t.watches = without(t.watches, w)
	} else if k := t.kids[comps[0]]; k != nil && k.remove(comps[1:], w) {
		delete(t.kids, comps[0])
	}
	return len(t.watches) == 0 && len(t.kids) == 0
}

func without(ws []*watch, w *watch) []*watch {
	for i, x := range ws {
		if x == w {
			ws[i] = ws[len(ws)-1]
			ws[len(ws)-1] = nil
			return ws[:len(ws)-1]
		}
	}
	return ws
}

// event is one watch event to send.
type event struct {
	c       *conn
	payload []byte
}

// collect appends the events that ch fires. It walks the trie along the
// path without splitting it, as this runs for every change.
func (r *watchRegistry) collect(ch change, out []event) []event {
	depth := strings.Count(ch.path, "/")
	if ch.path == "/" {
		depth = 0
	}
	t := &r.root
	rest := ch.path
	for level := 0; ; level++ {
		for _, w := range t.watches {
			if w.depth < 0 || depth-level <= w.depth {
				out = w.fire(ch.path, ch.perms, out)
			}
		}
		if level == depth {
			break
		}
		var comp string
		comp, rest = nextComponent(rest)
		if t = t.kids[comp]; t == nil {
			return out
		}
	}
	if ch.removed && len(t.kids) > 0 {
		// Watches on the nodes removed below path fire with their own path.
		for _, p := range ch.below {
			if k := t.find(p[len(ch.path):]); k != nil {
				for _, w := range k.watches {
					out = w.fire(p, ch.perms, out)
				}
			}
		}
	}
	return out
}

// nextComponent splits "/a/b/c" into "a" and "/b/c".
func nextComponent(p string) (string, string) {
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// find returns the trie node at the relative path rest ("/x/y") below t, or nil.
func (t *wtrie) find(rest string) *wtrie {
	for rest != "" {
		var c string
		c, rest = nextComponent(rest)
		if t = t.kids[c]; t == nil {
			return nil
		}
	}
	return t
}

// collectSpecial appends the events for a special watch path fired for domid.
func (r *watchRegistry) collectSpecial(name string, domid uint32, out []event) []event {
	perms := r.specialPerms[name]
	for _, w := range r.special[name] {
		p := name
		if w.depth > 0 {
			p = name + "/" + strconv.FormatUint(uint64(domid), 10)
		}
		out = w.fire(p, perms, out)
	}
	return out
}

// fire appends w's event for path if w's connection may read the node.
func (w *watch) fire(path string, perms []xenstore.Perm, out []event) []event {
	if !w.c.who().canRead(perms) {
		return out
	}
	if w.path != w.abs && w.abs[0] != '@' {
		// A relative watch gets relative paths: strip "/local/domain/N/".
		path = strings.TrimPrefix(path[len(w.c.base):], "/")
	}
	payload := make([]byte, 0, len(path)+len(w.token)+2)
	payload = append(payload, path...)
	payload = append(payload, 0)
	payload = append(payload, w.token...)
	payload = append(payload, 0)
	return append(out, event{c: w.c, payload: payload})
}
