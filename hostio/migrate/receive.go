package migrate

import (
	"bufio"
	"compress/flate"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of Server.
const (
	DefaultMaxReceivers = 4
	DefaultHelloTimeout = 10 * time.Second
	DefaultIdleTimeout  = time.Minute
)

// Destination is the host side of incoming migrations.
type Destination interface {
	// Prepare makes, from the source's metadata, the VM under a temporary
	// id with an empty domain and its devices' backends. On error it leaves
	// nothing behind.
	Prepare(ctx context.Context, metadata []byte) (Incoming, error)
}

// Incoming is one migration being received.
type Incoming interface {
	// Restore reads the domain's image from r (which ends at the image's
	// end) into the prepared domain and leaves it paused.
	Restore(ctx context.Context, r io.Reader) error
	// Commit plugs the devices, unpauses the domain and gives the VM its
	// real id: the destination owns it from here. A Commit that fails must
	// not have unpaused the domain; Abort follows it.
	Commit(ctx context.Context) error
	// Abort removes everything Prepare and Restore made.
	Abort(ctx context.Context)
}

// Server receives migrations on a listener.
type Server struct {
	// Token is what the source must send first.
	Token string
	// Trusted, if set, reports whether a connection's peer was
	// authenticated otherwise (a verified pool certificate): its hello
	// needs no token. It is called once the hello was read, so after a
	// TLS handshake.
	Trusted func(conn net.Conn) bool
	// Destination prepares and completes each migration.
	Destination Destination
	// MaxReceivers is how many migrations are received at once
	// (DefaultMaxReceivers when 0); more wait for a slot. This capacity
	// is the receivers' own: nothing else of the host takes it, nor does
	// receiving take anything sending needs.
	MaxReceivers int
	// HelloTimeout bounds the wait for a connection's hello
	// (DefaultHelloTimeout when 0).
	HelloTimeout time.Duration
	// IdleTimeout bounds each wait for the source once the hello was
	// answered (DefaultIdleTimeout when 0): a source gone without closing
	// the connection frees its receiver.
	IdleTimeout time.Duration
	// Logger receives the refused and failed migrations (none when nil).
	Logger *slog.Logger

	once  sync.Once
	slots chan struct{}
	wg    sync.WaitGroup
}

// init sets up the receivers' slots.
func (s *Server) init() {
	s.once.Do(func() {
		n := s.MaxReceivers
		if n <= 0 {
			n = DefaultMaxReceivers
		}
		s.slots = make(chan struct{}, n)
	})
}

// Serve accepts connections on ln until ctx ends or ln fails, receiving
// each in its own goroutine, then closes ln and waits for the migrations
// in flight, which ctx's end cancels.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.init()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("migration listener: %w: %w", err, errdefs.ErrUnavailable)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.Receive(ctx, conn); err != nil && s.Logger != nil {
				s.Logger.Warn("incoming migration failed", "remote", conn.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// Receive receives one migration on conn, which it closes. It returns nil
// once the destination owns the VM.
func (s *Server) Receive(ctx context.Context, conn net.Conn) error {
	s.init()
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	timeout := s.HelloTimeout
	if timeout <= 0 {
		timeout = DefaultHelloTimeout
	}
	ir := &idleReader{conn: conn, idle: timeout}
	r := bufio.NewReader(ir)
	h, err := s.hello(r, conn)
	if err != nil {
		_ = WriteStatus(conn, err)
		return err
	}
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	ir.idle = idle
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a receiver: %w", errdefs.ErrCanceled)
	}
	defer func() { <-s.slots }()
	if err := WriteStatus(conn, nil); err != nil {
		return err
	}
	return s.receive(ctx, conn, r, h)
}

// hello reads and checks the hello from r, conn's reader.
func (s *Server) hello(r io.Reader, conn net.Conn) (hello, error) {
	var h hello
	b, err := readMessage(r)
	if err != nil {
		return h, fmt.Errorf("hello: %w", err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("hello: %v: %w", err, errdefs.ErrInvalid)
	}
	trusted := s.Trusted != nil && s.Trusted(conn)
	if !trusted && (s.Token == "" || subtle.ConstantTimeCompare([]byte(h.Token), []byte(s.Token)) != 1) {
		return h, fmt.Errorf("hello: bad token: %w", errdefs.ErrPermission)
	}
	if h.Version != Version {
		return h, fmt.Errorf("hello: protocol version %d, want %d: %w", h.Version, Version, errdefs.ErrInvalid)
	}
	return h, nil
}

// receive runs the steps after the hello.
func (s *Server) receive(ctx context.Context, conn net.Conn, r *bufio.Reader, h hello) (err error) {
	meta, err := readMessage(r)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	in, err := s.Destination.Prepare(ctx, meta)
	if err != nil {
		_ = WriteStatus(conn, err)
		return fmt.Errorf("prepare: %w", err)
	}
	defer func() {
		if err != nil {
			in.Abort(context.WithoutCancel(ctx))
		}
	}()
	if err := WriteStatus(conn, nil); err != nil {
		return err
	}
	cr := &chunkReader{r: r}
	var img io.Reader = cr
	if h.Compress {
		fr := flate.NewReader(cr)
		defer fr.Close()
		img = fr
	}
	if err := in.Restore(ctx, img); err != nil {
		// Read the stream to its end so that the source hears why.
		if _, derr := io.Copy(io.Discard, cr); derr == nil {
			_ = WriteStatus(conn, err)
		}
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(io.Discard, img); err != nil {
		_ = WriteStatus(conn, err)
		return fmt.Errorf("memory stream: %w", err)
	}
	if err := WriteStatus(conn, nil); err != nil {
		return err
	}
	if err := ReadStatus(r); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := in.Commit(ctx); err != nil {
		_ = WriteStatus(conn, err)
		return fmt.Errorf("commit: %w", err)
	}
	// The destination owns the VM: a lost acknowledgement changes nothing.
	_ = WriteStatus(conn, nil)
	return nil
}

// idleReader reads conn with a deadline of idle from each read.
type idleReader struct {
	conn net.Conn
	idle time.Duration
}

// Read reads conn, failing once idle passed without a byte.
func (i *idleReader) Read(p []byte) (int, error) {
	_ = i.conn.SetReadDeadline(time.Now().Add(i.idle))
	return i.conn.Read(p)
}
