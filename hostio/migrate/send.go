package migrate

import (
	"bufio"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of SendConfig.
const (
	DefaultMaxIterations  = 5
	DefaultDirtyThreshold = 50
)

// statusGrace is how long a source whose write failed waits for the
// destination's status saying why.
const statusGrace = 2 * time.Second

// Version is the version of the protocol this package speaks.
const Version = 1

// ErrOutcomeUnknown is wrapped by Send's error when the connection was lost
// after the commit was sent: the destination may or may not run the VM, and
// the source's domain is left paused.
var ErrOutcomeUnknown = errors.New("outcome of the commit unknown")

// hello is the first message of a connection.
type hello struct {
	Version  int    `json:"version"`
	Token    string `json:"token"`
	Compress bool   `json:"compress,omitempty"`
}

// SendConfig is what Send migrates and how.
type SendConfig struct {
	// Token is the destination's token, checked first thing.
	Token string
	// Metadata is what the destination prepares the VM from (Destination's
	// Prepare); opaque to this package, at most MaxMessageBytes.
	Metadata []byte
	// Hypervisor and DomID name the running domain to migrate.
	Hypervisor hypervisor.Hypervisor
	DomID      hypervisor.DomID
	// MaxIterations bounds the pre-copy rounds after the first full one
	// (DefaultMaxIterations when 0); DirtyThreshold ends them once fewer
	// pages than it are dirty (DefaultDirtyThreshold when 0).
	MaxIterations  int
	DirtyThreshold int
	// Compress sends the memory stream through flate (BestSpeed).
	Compress bool
	// Live pre-copies the memory while the guest runs; without it the
	// guest is stopped first and its memory sent once.
	Live bool
	// Suspend stops the guest for the last round; Resume lets it run again
	// when the migration fails before the commit. They default to the
	// hypervisor's Pause and Unpause of DomID.
	Suspend func(ctx context.Context) error
	Resume  func(ctx context.Context) error
	// Progress, when set, is called after each round.
	Progress func(Progress)
	// Now is the clock of the rates and durations (time.Now when nil).
	Now func() time.Time
}

// Progress is how far a migration got.
type Progress struct {
	// Iteration is the round just sent: 0 is the full copy.
	Iteration int
	// BytesSent counts the bytes written to the connection so far.
	BytesSent int64
	// PagesSent counts the pages of the image sent so far, resent ones
	// included.
	PagesSent int64
	// DirtyPages is how many pages the guest dirtied during the round;
	// DirtyRate is that per second.
	DirtyPages int
	DirtyRate  float64
	// EstimatedDowntime is how long sending the dirty pages would take at
	// the throughput so far.
	EstimatedDowntime time.Duration
}

// Result describes a migration Send completed.
type Result struct {
	// BytesSent counts the bytes written to the connection.
	BytesSent int64
	// Iterations is the number of pre-copy rounds after the full one.
	Iterations int
	// Duration is the whole migration, from dial to acknowledgement;
	// Downtime from the guest's suspend to the destination's
	// acknowledgement of its unpause.
	Duration time.Duration
	Downtime time.Duration
}

// Send migrates the domain over conn, which it closes. On success the
// destination runs the VM and the source's domain is left paused for the
// caller to destroy. On failure before the commit, the guest runs on the
// source again (if Send stopped it) and the error says which step failed;
// ctx's end cancels until the commit is sent.
func Send(ctx context.Context, conn net.Conn, cfg SendConfig) (Result, error) {
	s := &sender{cfg: cfg, conn: conn, cw: &countingWriter{w: conn}}
	s.defaults()
	start := s.cfg.Now()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer conn.Close()
	s.r = bufio.NewReader(conn)
	err := s.run(ctx, stop)
	res := Result{BytesSent: s.cw.n, Iterations: s.iterations, Duration: s.cfg.Now().Sub(start)}
	if !s.suspendedAt.IsZero() {
		res.Downtime = s.cfg.Now().Sub(s.suspendedAt)
	}
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil && !s.committed {
		err = fmt.Errorf("%w (%w: %w)", err, errdefs.ErrCanceled, context.Cause(ctx))
	}
	if s.suspended && !s.committed {
		if rerr := s.cfg.Resume(context.WithoutCancel(ctx)); rerr != nil {
			err = fmt.Errorf("%w (and resuming the source failed: %v)", err, rerr)
		}
	}
	return res, err
}

// sender is the state of one Send.
type sender struct {
	cfg         SendConfig
	conn        net.Conn
	cw          *countingWriter
	r           *bufio.Reader
	pages       int64
	iterations  int
	suspended   bool
	suspendedAt time.Time
	committed   bool
}

// defaults fills the config's zero fields.
func (s *sender) defaults() {
	c := &s.cfg
	if c.MaxIterations <= 0 {
		c.MaxIterations = DefaultMaxIterations
	}
	if c.DirtyThreshold <= 0 {
		c.DirtyThreshold = DefaultDirtyThreshold
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	hv, id := c.Hypervisor, c.DomID
	if c.Suspend == nil {
		c.Suspend = func(ctx context.Context) error { return hv.Pause(ctx, id) }
	}
	if c.Resume == nil {
		c.Resume = func(ctx context.Context) error { return hv.Unpause(ctx, id) }
	}
}

// run drives the steps; stop ends the cancel of the connection by ctx.
func (s *sender) run(ctx context.Context, stop func() bool) error {
	h, _ := json.Marshal(hello{Version: Version, Token: s.cfg.Token, Compress: s.cfg.Compress})
	if err := s.step("hello", func() error { return writeMessage(s.cw, h) }); err != nil {
		return err
	}
	if err := s.step("metadata", func() error { return writeMessage(s.cw, s.cfg.Metadata) }); err != nil {
		return err
	}
	if err := s.step("memory", func() error { return s.sendMemory(ctx) }); err != nil {
		return err
	}
	// The point of no return: the destination unpauses on this status.
	if !stop() {
		return fmt.Errorf("commit: %w", ctx.Err())
	}
	s.committed = true
	if err := WriteStatus(s.cw, nil); err != nil {
		return fmt.Errorf("commit: %w: %w", ErrOutcomeUnknown, err)
	}
	if err := ReadStatus(s.r); err != nil {
		var remote *RemoteError
		if errors.As(err, &remote) {
			s.committed = false // the destination failed before its unpause
			return fmt.Errorf("commit: destination: %w", err)
		}
		return fmt.Errorf("commit: %w: %w", ErrOutcomeUnknown, err)
	}
	return nil
}

// step runs send and reads the destination's status of the step.
func (s *sender) step(name string, send func() error) error {
	if err := send(); err != nil {
		if s.cw.err == nil {
			// A failure of the source: the destination hears of it as
			// the connection's end.
			_ = s.conn.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		// The destination may have said why it stopped reading.
		_ = s.conn.SetReadDeadline(time.Now().Add(statusGrace))
		if serr := ReadStatus(s.r); serr != nil {
			var remote *RemoteError
			if errors.As(serr, &remote) {
				return fmt.Errorf("%s: destination: %w", name, serr)
			}
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := ReadStatus(s.r); err != nil {
		var remote *RemoteError
		if errors.As(err, &remote) {
			return fmt.Errorf("%s: destination: %w", name, err)
		}
		return fmt.Errorf("%s: destination closed the connection: %w", name, err)
	}
	return nil
}

// sendMemory streams the image: pre-copy rounds, the suspend, the rest.
func (s *sender) sendMemory(ctx context.Context) error {
	hv, id := s.cfg.Hypervisor, s.cfg.DomID
	info, err := hv.DomainInfo(ctx, id)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(s.cw, chunkBytes)
	chunks := newChunkWriter(bw)
	var w io.Writer = chunks
	var fw *flate.Writer
	if s.cfg.Compress {
		fw, _ = flate.NewWriter(chunks, flate.BestSpeed)
		w = fw
	}
	flush := func() error {
		if fw != nil {
			if err := fw.Flush(); err != nil {
				return err
			}
		}
		if err := chunks.Flush(); err != nil {
			return err
		}
		return bw.Flush()
	}
	if !s.cfg.Live {
		if err := s.suspend(ctx); err != nil {
			return err
		}
	}
	if err := hv.EnableDirtyLog(ctx, id); err != nil {
		return fmt.Errorf("domain %d: dirty log: %w", id, err)
	}
	defer func() { _ = hv.DisableDirtyLog(context.WithoutCancel(ctx), id) }()
	all := make([]uint64, info.MemoryKiB/(hypervisor.PageSize/1024))
	for i := range all {
		all[i] = uint64(i)
	}
	pfns := all
	start := s.cfg.Now()
	for iter := 0; s.cfg.Live; iter++ {
		roundStart := s.cfg.Now()
		if err := hv.ReadPages(ctx, id, pfns, w); err != nil {
			return fmt.Errorf("domain %d: read pages: %w", id, err)
		}
		if err := flush(); err != nil {
			return err
		}
		s.pages += int64(len(pfns))
		if iter > 0 {
			s.iterations = iter
		}
		// The log is left as it is for the last round, whose save takes
		// it (DirtyOnly).
		dirty, err := hv.ReadDirtyLog(ctx, id, false)
		if err != nil {
			return fmt.Errorf("domain %d: dirty log: %w", id, err)
		}
		s.report(iter, len(dirty), s.cfg.Now().Sub(roundStart), s.cfg.Now().Sub(start))
		if len(dirty) < s.cfg.DirtyThreshold || iter >= s.cfg.MaxIterations {
			break
		}
		if pfns, err = hv.ReadDirtyLog(ctx, id, true); err != nil {
			return fmt.Errorf("domain %d: dirty log: %w", id, err)
		}
	}
	if s.cfg.Live {
		if err := s.suspend(ctx); err != nil {
			return err
		}
	}
	if err := hv.Save(ctx, id, w, hypervisor.SaveOptions{DirtyOnly: s.cfg.Live}); err != nil {
		return fmt.Errorf("domain %d: save: %w", id, err)
	}
	if fw != nil {
		if err := fw.Close(); err != nil {
			return err
		}
	}
	if err := chunks.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// suspend stops the guest for the last round.
func (s *sender) suspend(ctx context.Context) error {
	s.suspendedAt = s.cfg.Now()
	if err := s.cfg.Suspend(ctx); err != nil {
		s.suspendedAt = time.Time{}
		return fmt.Errorf("suspend domain %d: %w", s.cfg.DomID, err)
	}
	s.suspended = true
	info, err := s.cfg.Hypervisor.DomainInfo(ctx, s.cfg.DomID)
	if err != nil {
		return fmt.Errorf("domain %d: %w", s.cfg.DomID, err)
	}
	if info.Shutdown && info.ShutdownReason != hypervisor.ShutdownSuspend {
		return fmt.Errorf("domain %d shut down for %s during the migration: %w", s.cfg.DomID, info.ShutdownReason,
			errdefs.ErrUnavailable)
	}
	return nil
}

// report calls Progress after a round of the given length that left dirty
// pages.
func (s *sender) report(iter, dirty int, round, total time.Duration) {
	if s.cfg.Progress == nil {
		return
	}
	p := Progress{Iteration: iter, BytesSent: s.cw.n, PagesSent: s.pages, DirtyPages: dirty}
	if round > 0 {
		p.DirtyRate = float64(dirty) / round.Seconds()
	}
	if total > 0 && s.cw.n > 0 {
		perByte := float64(total) / float64(s.cw.n)
		p.EstimatedDowntime = time.Duration(perByte * float64(dirty*hypervisor.PageSize))
	}
	s.cfg.Progress(p)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error // the first error of w
}

// Write writes p and counts what was written.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
