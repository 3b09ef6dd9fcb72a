package hvremote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/netserve"
)

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of connection errors; default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMaxHeaderBytes bounds the request lines the server accepts; default
// DefaultMaxHeaderBytes.
func WithMaxHeaderBytes(n int) Option { return func(s *Server) { s.maxHeader = n } }

// Server serves a hypervisor and a hotplug step on listeners.
type Server struct {
	hv        hypervisor.Hypervisor
	hp        hotplug.Hotplug
	log       *slog.Logger
	maxHeader int
	ctx       context.Context
	cancel    context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// NewServer returns a server of hv and hp; hp may be nil, and then the
// hotplug methods are errdefs.ErrNotImplemented.
func NewServer(hv hypervisor.Hypervisor, hp hotplug.Hotplug, opts ...Option) *Server {
	s := &Server{hv: hv, hp: hp, log: slog.New(slog.DiscardHandler), maxHeader: DefaultMaxHeaderBytes,
		listeners: make(map[net.Listener]struct{}), conns: make(map[net.Conn]struct{})}
	for _, o := range opts {
		o(s)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Serve accepts connections on l until l or the server is closed; it then
// returns nil.
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
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	})
}

// Close stops the listeners, cancels the calls in progress, closes every
// connection and waits for them to end. It does not close the hypervisor.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// serveConn answers the requests of one connection in turn.
func (s *Server) serveConn(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	w := bufio.NewWriter(nc)
	for {
		line, err := readLine(r, s.maxHeader)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				_ = writeLine(w, &reply{Error: toWire(fmt.Errorf("hvremote: request: %w: %w", errdefs.ErrInvalid, err))})
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("hvremote: reading a request", "err", err)
			}
			return
		}
		req, err := decodeRequest(line)
		if err != nil {
			if writeLine(w, &reply{Error: toWire(err)}) != nil {
				return
			}
			continue
		}
		if !s.serveRequest(nc, r, w, req) {
			return
		}
	}
}

// serveRequest answers req; false means the connection must close.
func (s *Server) serveRequest(nc net.Conn, r *bufio.Reader, w *bufio.Writer, req *request) bool {
	ctx := s.ctx
	switch req.Method {
	case mEvents:
		s.serveEvents(nc, r, w)
		return false
	case mSave, mReadPages:
		fw := frameWriter{w}
		var err error
		if req.Method == mSave {
			err = s.hv.Save(ctx, req.ID, fw, req.Save)
		} else {
			err = s.hv.ReadPages(ctx, req.ID, req.PFNs, fw)
		}
		if fw.Close() != nil {
			return false
		}
		return writeLine(w, &reply{Error: toWire(err)}) == nil
	case mRestore:
		fr := &frameReader{r: r}
		res, err := s.hv.Restore(ctx, req.ID, fr)
		rep := &reply{Error: toWire(err)}
		if err == nil {
			rep.Build = &res
		}
		// Unless the stream was read to its end, what follows is not a
		// request: answer, then drop the connection.
		return writeLine(w, rep) == nil && fr.done
	}
	rep := s.unary(ctx, req)
	return writeLine(w, rep) == nil
}

// unary runs a call without a stream.
func (s *Server) unary(ctx context.Context, req *request) *reply {
	var (
		rep reply
		err error
	)
	switch req.Method {
	case mCreate:
		rep.ID, err = s.hv.Create(ctx, *req.Create)
	case mSetMaxMem:
		err = s.hv.SetMaxMem(ctx, req.ID, req.KiB)
	case mSetMaxVCPUs:
		err = s.hv.SetMaxVCPUs(ctx, req.ID, req.N)
	case mPause:
		err = s.hv.Pause(ctx, req.ID)
	case mUnpause:
		err = s.hv.Unpause(ctx, req.ID)
	case mShutdown:
		err = s.hv.Shutdown(ctx, req.ID, req.Reason)
	case mDestroy:
		err = s.hv.Destroy(ctx, req.ID)
	case mDomainInfo:
		var info hypervisor.DomainInfo
		if info, err = s.hv.DomainInfo(ctx, req.ID); err == nil {
			rep.Info = &info
		}
	case mListDomains:
		rep.Domains, err = s.hv.ListDomains(ctx)
	case mBuild:
		var res hypervisor.BuildResult
		if res, err = s.hv.Build(ctx, req.ID, *req.Build); err == nil {
			rep.Build = &res
		}
	case mSetMemoryTarget:
		err = s.hv.SetMemoryTarget(ctx, req.ID, req.KiB)
	case mEnableDirtyLog:
		err = s.hv.EnableDirtyLog(ctx, req.ID)
	case mDisableDirtyLog:
		err = s.hv.DisableDirtyLog(ctx, req.ID)
	case mReadDirtyLog:
		rep.PFNs, err = s.hv.ReadDirtyLog(ctx, req.ID, req.Clear)
	case mWritePage, mWritePageAt, mReadPage, mReadPageAt, mMemoryChecksum:
		err = s.pageAccess(ctx, req, &rep)
	case mHotplugAdd, mHotplugRemove:
		switch {
		case s.hp == nil:
			err = fmt.Errorf("hvremote: no hotplug on this server: %w", errdefs.ErrNotImplemented)
		case req.Method == mHotplugAdd:
			err = s.hp.Add(ctx, *req.Device)
		default:
			err = s.hp.Remove(ctx, *req.Device)
		}
	default:
		err = fmt.Errorf("hvremote: method %q has no handler: %w", req.Method, errdefs.ErrInvalid)
	}
	if err != nil {
		return &reply{Error: toWire(err)}
	}
	return &rep
}

// pageAccess is the dom0 foreign mapping of a simulated hypervisor; the
// conformance suite checks memory contents with it.
type pageAccess interface {
	WritePage(ctx context.Context, id hypervisor.DomID, pfn uint64, data []byte) error
	ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error)
	MemoryChecksum(ctx context.Context, id hypervisor.DomID) ([32]byte, error)
}

func (s *Server) pageAccess(ctx context.Context, req *request, rep *reply) error {
	pa, ok := s.hv.(pageAccess)
	if !ok {
		return fmt.Errorf("hvremote: %s: the hypervisor has no page access: %w", req.Method, errdefs.ErrNotImplemented)
	}
	var err error
	switch req.Method {
	case mWritePage:
		err = pa.WritePage(ctx, req.ID, req.PFN, req.Data)
	case mWritePageAt:
		at, ok := s.hv.(interface {
			WritePageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset int, data []byte) error
		})
		if !ok {
			return fmt.Errorf("hvremote: %s: the hypervisor cannot write part of a page: %w", req.Method,
				errdefs.ErrNotImplemented)
		}
		err = at.WritePageAt(ctx, req.ID, req.PFN, req.Offset, req.Data)
	case mReadPage:
		rep.Data, err = pa.ReadPage(ctx, req.ID, req.PFN)
	case mReadPageAt:
		at, ok := s.hv.(interface {
			ReadPageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset, n int) ([]byte, error)
		})
		if !ok {
			return fmt.Errorf("hvremote: %s: the hypervisor cannot read part of a page: %w", req.Method,
				errdefs.ErrNotImplemented)
		}
		rep.Data, err = at.ReadPageAt(ctx, req.ID, req.PFN, req.Offset, req.N)
	case mMemoryChecksum:
		var sum [32]byte
		sum, err = pa.MemoryChecksum(ctx, req.ID)
		rep.Data = sum[:]
	}
	return err
}

// serveEvents streams one byte per signal until the client leaves or the
// server closes.
func (s *Server) serveEvents(nc net.Conn, r *bufio.Reader, w *bufio.Writer) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	ch, err := s.hv.Events(ctx)
	if writeLine(w, &reply{Error: toWire(err)}) != nil || err != nil {
		return
	}
	// The client sends nothing more: a read ends when it closes.
	go func() {
		_, _ = io.Copy(io.Discard, r)
		cancel()
	}()
	for range ch {
		if _, err := nc.Write([]byte{1}); err != nil {
			return
		}
	}
}
