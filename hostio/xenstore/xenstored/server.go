package xenstored

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/netserve"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Quota is the initial quota of every domain; zero means DefaultQuota().
	Quota *Quota
	// MaxPendingBytes bounds the watch events queued to one connection that
	// is not reading them; zero means 1 MiB.
	MaxPendingBytes int
	// Logger receives the daemon's log lines; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the project's xenstored.
type Server struct {
	log        *slog.Logger
	maxPending int
	tree       *store
	watches    *watchRegistry
	domains    domainTable
	txSeq      atomic.Uint32

	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// New returns a Server with the initial tree (/, /tool/xenstored).
func New(cfg Config) *Server {
	s := &Server{
		log:        cfg.Logger,
		maxPending: cfg.MaxPendingBytes,
		tree:       newStore(),
		watches:    newWatchRegistry(),
		conns:      make(map[*conn]struct{}),
		listeners:  make(map[net.Listener]struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxPending <= 0 {
		s.maxPending = 1 << 20
	}
	s.domains.m = make(map[uint32]*domain)
	s.domains.global = DefaultQuota()
	if cfg.Quota != nil {
		s.domains.global = *cfg.Quota
	}
	// Dom0 is always there: ConnectDomain(0) is the control domain's kernel
	// (its backends) talking through xenbus, privileged like a socket.
	s.domains.ensureLocked(0).introduced = true
	return s
}

// Listen opens a Unix socket at path for Serve, replacing a stale socket
// file and creating the directory. The kernel's listen backlog applies
// (somaxconn), so hundreds of simultaneous dials succeed.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("xenstored: socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("xenstored: %s: another daemon is listening: %w", path, errdefs.ErrExists)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("xenstored: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Serve accepts socket connections on l until l is closed or the server
// is, and serves each as a privileged dom0 connection.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	return netserve.Accept(l, func(nc net.Conn) {
		if !s.start(newConn(s, nc, nil)) {
			nc.Close()
		}
	})
}

func (s *Server) start(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	connections.Inc()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.serve()
	}()
	return true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		connections.Dec()
		delete(s.conns, c)
	}
	s.mu.Unlock()
	if c.dom != nil {
		s.domains.mu.Lock()
		delete(c.dom.conns, c)
		s.domains.mu.Unlock()
	}
}

// ConnectDomain opens a connection that is domain domid, as its xenstore
// ring is: relative paths, the domain's permissions and quotas apply. The
// domain must have been introduced; domain 0 always is, and its
// connections are privileged. Closing the returned end disconnects.
func (s *Server) ConnectDomain(domid uint32) (net.Conn, error) {
	s.domains.mu.Lock()
	d := s.domains.m[domid]
	if d == nil || !d.introduced {
		s.domains.mu.Unlock()
		return nil, fmt.Errorf("xenstored: domain %d is not introduced: %w", domid, errdefs.ErrNotFound)
	}
	ours, theirs := net.Pipe()
	c := newConn(s, ours, d)
	d.conns[c] = struct{}{}
	s.domains.mu.Unlock()
	if !s.start(c) {
		ours.Close()
		theirs.Close()
		return nil, fmt.Errorf("xenstored: server closed: %w", errdefs.ErrUnavailable)
	}
	return theirs, nil
}

// Close stops accepting, closes every connection and waits for their
// goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	return nil
}

// fire delivers the watch events for changes.
func (s *Server) fire(changes []change) {
	if len(changes) == 0 {
		return
	}
	var buf [8]event
	evs := buf[:0]
	s.watches.mu.RLock()
	for _, ch := range changes {
		evs = s.watches.collect(ch, evs)
	}
	s.watches.mu.RUnlock()
	for _, e := range evs {
		e.c.sendEvent(e.payload)
	}
}

func (s *Server) fireSpecial(name string, domid uint32) {
	s.watches.mu.RLock()
	evs := s.watches.collectSpecial(name, domid, nil)
	s.watches.mu.RUnlock()
	for _, e := range evs {
		e.c.sendEvent(e.payload)
	}
}

// Stats is a snapshot of the daemon's size.
type Stats struct {
	Nodes, Connections, Domains int
}

// Stats returns the number of nodes, connections and introduced guest
// domains (dom0 not counted).
func (s *Server) Stats() Stats {
	s.tree.mu.RLock()
	n := len(s.tree.nodes)
	s.tree.mu.RUnlock()
	s.mu.Lock()
	c := len(s.conns)
	s.mu.Unlock()
	s.domains.mu.Lock()
	d := 0
	for _, dom := range s.domains.m {
		if dom.introduced && dom.id != 0 {
			d++
		}
	}
	s.domains.mu.Unlock()
	return Stats{Nodes: n, Connections: c, Domains: d}
}
