package xenstored

import (
	"slices"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// domidFirstReserved is DOMID_FIRST_RESERVED: ids from here on are special.
const domidFirstReserved = 0x7FF0

func parseGuest(s string) (uint32, bool) {
	d, ok := xenstore.ParseDomid(s)
	return d, ok && d != 0 && d < domidFirstReserved
}

func (c *conn) handleGetDomainPath(m xenstore.Message) {
	d, ok := xenstore.ParseDomid(xenstore.FirstString(m.Payload))
	if !ok {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	c.reply(m.Op, m, xenstore.Strings(xenstore.DomainPath(d)))
}

// handleDomainOp runs the privileged domain and quota requests.
func (c *conn) handleDomainOp(m xenstore.Message) {
	args := xenstore.SplitStrings(m.Payload)
	if len(args) == 0 {
		args = []string{""}
	}
	switch m.Op {
	case xenstore.OpIntroduce:
		if len(args) < 3 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		d, ok := parseGuest(args[0])
		_, err1 := strconv.ParseInt(args[1], 10, 64)
		_, err2 := strconv.ParseUint(args[2], 10, 32)
		if !ok || err1 != nil || err2 != nil {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		c.s.introduce(d)
		c.replyOK(m)
	case xenstore.OpRelease:
		d, ok := parseGuest(args[0])
		if !ok {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		if !c.s.release(d) {
			c.replyErr(m, xenstore.ENOENT)
			return
		}
		c.replyOK(m)
	case xenstore.OpIsDomainIntroduced:
		d, ok := xenstore.ParseDomid(args[0])
		if !ok {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		answer := "F"
		if dom := c.s.domains.lookup(d); d == 0 || (dom != nil && dom.introduced) {
			answer = "T"
		}
		c.reply(m.Op, m, xenstore.Strings(answer))
	case xenstore.OpResume:
		d, ok := parseGuest(args[0])
		if !ok {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		c.answer(m, okPayload, c.s.withDomain(d, func(dom *domain) { dom.releaseFired = false }))
	case xenstore.OpSetTarget:
		if len(args) < 2 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		d, ok1 := parseGuest(args[0])
		t, ok2 := xenstore.ParseDomid(args[1])
		if !ok1 || !ok2 {
			c.replyErr(m, xenstore.EINVAL)
			return
		}
		if dom := c.s.domains.lookup(t); t != 0 && (dom == nil || !dom.introduced) {
			c.replyErr(m, xenstore.ENOENT)
			return
		}
		c.answer(m, okPayload, c.s.withDomain(d, func(dom *domain) { dom.target.Store(int64(t)) }))
	case xenstore.OpGetQuota:
		c.handleGetQuota(m, args)
	case xenstore.OpSetQuota:
		c.handleSetQuota(m, args)
	}
}

func (c *conn) handleGetQuota(m xenstore.Message, args []string) {
	if len(args) == 1 && args[0] == "" {
		c.reply(m.Op, m, xenstore.Strings(strings.Join(quotaNames, " ")))
		return
	}
	var value int
	e := c.s.quotaField(args, func(f *int) { value = *f })
	if e == "" && len(args) > 2 {
		e = xenstore.EINVAL
	}
	c.answer(m, xenstore.Strings(strconv.Itoa(value)), e)
}

func (c *conn) handleSetQuota(m xenstore.Message, args []string) {
	if len(args) < 2 || len(args) > 3 {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	v, err := strconv.Atoi(args[len(args)-1])
	if err != nil || v < 0 {
		c.replyErr(m, xenstore.EINVAL)
		return
	}
	c.answer(m, okPayload, c.s.quotaField(args[:len(args)-1], func(f *int) { *f = v }))
}

// quotaField finds the quota named by args ([domid] name) and calls fn
// with it under the domain table's lock.
func (s *Server) quotaField(args []string, fn func(*int)) xenstore.Errno {
	s.domains.mu.Lock()
	defer s.domains.mu.Unlock()
	q := &s.domains.global
	name := args[0]
	var dom *domain
	if len(args) >= 2 {
		d, ok := xenstore.ParseDomid(args[0])
		if !ok {
			return xenstore.EINVAL
		}
		if dom = s.domains.m[d]; dom == nil || !dom.introduced {
			return xenstore.ENOENT
		}
		// A copy, stored whole below: connections read it without a lock.
		copied := *dom.quota.Load()
		q, name = &copied, args[1]
	}
	f := q.field(name)
	if f == nil {
		return xenstore.EINVAL
	}
	fn(f)
	if dom != nil {
		dom.quota.Store(q)
	}
	return ""
}

func (s *Server) withDomain(d uint32, fn func(*domain)) xenstore.Errno {
	s.domains.mu.Lock()
	defer s.domains.mu.Unlock()
	dom := s.domains.m[d]
	if dom == nil || !dom.introduced {
		return xenstore.ENOENT
	}
	fn(dom)
	return ""
}

// introduce marks d introduced and fires @introduceDomain the first time.
func (s *Server) introduce(d uint32) {
	s.domains.mu.Lock()
	dom := s.domains.ensureLocked(d)
	fresh := !dom.introduced
	dom.introduced = true
	s.domains.mu.Unlock()
	if fresh {
		s.fireSpecial(xenstore.WatchIntroduceDomain, d)
	}
}

// release forgets domain d: it closes its connections, removes the nodes
// it owns and fires @releaseDomain. It reports false if d was not introduced.
func (s *Server) release(d uint32) bool {
	s.domains.mu.Lock()
	dom := s.domains.m[d]
	if dom == nil || !dom.introduced {
		s.domains.mu.Unlock()
		return false
	}
	delete(s.domains.m, d)
	conns := make([]*conn, 0, len(dom.conns))
	for c := range dom.conns {
		conns = append(conns, c)
	}
	s.domains.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	lv := liveView{s: s.tree}
	s.tree.mu.Lock()
	owned := make([]string, 0, len(s.tree.owned[d]))
	for p := range s.tree.owned[d] {
		owned = append(owned, p)
	}
	slices.Sort(owned) // parents before children
	for _, p := range owned {
		lv.remove(p)
	}
	s.tree.mu.Unlock()
	s.fire(lv.changes)
	s.fireSpecial(xenstore.WatchReleaseDomain, d)
	return true
}

// IsIntroduced reports whether domain d is introduced (dom0 always is).
func (s *Server) IsIntroduced(d uint32) bool {
	dom := s.domains.lookup(d)
	return dom != nil && dom.introduced
}

// DomainShutdown tells the daemon that domain d shut down or crashed (the
// hypervisor's VIRQ_DOM_EXC): @releaseDomain fires once, until RESUME.
func (s *Server) DomainShutdown(d uint32) {
	s.domains.mu.Lock()
	dom := s.domains.m[d]
	fire := dom != nil && dom.introduced && !dom.releaseFired
	if fire {
		dom.releaseFired = true
	}
	s.domains.mu.Unlock()
	if fire {
		s.fireSpecial(xenstore.WatchReleaseDomain, d)
	}
}

// DomainDestroyed tells the daemon that domain d no longer exists: it is
// released as by RELEASE.
func (s *Server) DomainDestroyed(d uint32) { s.release(d) }
