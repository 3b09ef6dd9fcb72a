package xenstored

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// controlCommands are the CONTROL commands, for help.
var controlCommands = []string{"check", "help", "log", "print", "quota"}

func (c *conn) handleControl(m xenstore.Message) {
	args := xenstore.SplitStrings(m.Payload)
	if len(args) == 0 {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	if !c.who().privileged {
		c.replyErr(m, xenstore.EACCES)
		return
	}
	text := func(s string) { c.reply(m.Op, m, xenstore.Strings(s)) }
	switch args[0] {
	case "help":
		text(strings.Join(controlCommands, "\n") + "\n")
	case "check":
		if problems := c.s.check(); len(problems) > 0 {
			text(strings.Join(problems, "\n"))
			return
		}
		text("OK")
	case "log":
		c.replyOK(m)
	case "print":
		c.s.log.Info("xenstore control print", "text", strings.Join(args[1:], " "))
		c.replyOK(m)
	case "quota":
		c.s.domains.mu.Lock()
		q := c.s.domains.global
		if len(args) > 1 {
			d, ok := xenstore.ParseDomid(args[1])
			dom := c.s.domains.m[d]
			if !ok || dom == nil {
				c.s.domains.mu.Unlock()
				c.replyErr(m, xenstore.ENOENT)
				return
			}
			q = *dom.quota.Load()
		}
		c.s.domains.mu.Unlock()
		text(q.report())
	default:
		c.replyErr(m, xenstore.EINVAL)
	}
}

// check verifies the tree's invariants: every node's parent lists it, every
// listed child exists, and the owner index matches the nodes. It returns
// one line per problem.
func (s *Server) check() []string {
	s.tree.mu.RLock()
	defer s.tree.mu.RUnlock()
	var out []string
	owned := 0
	for p, n := range s.tree.nodes {
		if len(n.perms) == 0 {
			out = append(out, fmt.Sprintf("%s: no permissions", p))
			continue
		}
		if n.owner() != 0 {
			owned++
			if _, ok := s.tree.owned[n.owner()][p]; !ok {
				out = append(out, fmt.Sprintf("%s: missing from the owner index of domain %d", p, n.owner()))
			}
		}
		for _, c := range n.children {
			if s.tree.nodes[join(p, c)] == nil {
				out = append(out, fmt.Sprintf("%s: child %q does not exist", p, c))
			}
		}
		if p == "/" {
			continue
		}
		parent := s.tree.nodes[xenstore.Parent(p)]
		if parent == nil || !slices.Contains(parent.children, xenstore.Base(p)) {
			out = append(out, fmt.Sprintf("%s: not listed by its parent", p))
		}
	}
	indexed := 0
	for _, m := range s.tree.owned {
		indexed += len(m)
	}
	if indexed != owned {
		out = append(out, fmt.Sprintf("owner index has %d entries for %d owned nodes", indexed, owned))
	}
	slices.Sort(out)
	return out
}
