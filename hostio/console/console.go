package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// Config is one domain's console.
type Config struct {
	DomID   uint32
	RingRef uint64 // the ring's page, from console/ring-ref
	Pages   Pages
	// LogDir holds the domain's log, LogName(DomID). LogMaxBytes caps it
	// (DefaultLogMaxBytes when 0).
	LogDir      string
	LogMaxBytes int64
	// NoPTY makes a console that only logs.
	NoPTY bool
	// OnInput, if not nil, is called from the pty's reader when input
	// typed on the pty waits for the next Poll. It must not block.
	OnInput func()
	Logger  *slog.Logger
}

// Console is one domain's console as xenconsoled serves it: what the guest
// prints in the ring's output half goes to its log and to its pty, and
// what is typed on the pty goes to the ring's input half. Poll does one
// round; the caller calls it again at an interval (there are no event
// channels in the simulator: see docs/console.md), and at once after
// OnInput. Poll and Close must not be called concurrently.
type Console struct {
	cfg Config
	log *slog.Logger
	out *logFile
	pty *PTY

	input   chan []byte // chunks read from the pty; the reader blocks while one waits
	pending []byte      // input taken from the chunk being put in the ring
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	// Each condition is logged once when it starts, not on every Poll.
	outCorrupt, inCorrupt, logFailing bool
}

// Open opens domain cfg.DomID's log and allocates its pty (none with
// cfg.NoPTY). The log is closed whenever a Poll finds nothing printed, and
// opened again for the next output, so an idle console holds the pty's
// descriptors only, and none with NoPTY. A pty that
// cannot be allocated (no /dev/ptmx) is logged, and the console is only
// logged: TTY is "". Open does not read the ring: Poll does.
func Open(cfg Config) (_ *Console, err error) {
	c := &Console{cfg: cfg, log: cfg.Logger, input: make(chan []byte, 1), done: make(chan struct{})}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("daemon", "console", "domid", cfg.DomID)
	if c.out, err = openLog(filepath.Join(cfg.LogDir, LogName(cfg.DomID)), cfg.LogMaxBytes); err != nil {
		return nil, err
	}
	if cfg.NoPTY {
		return c, nil
	}
	if c.pty, err = OpenPTY(); err != nil {
		// The log matters most: serve it without a pty.
		c.log.Warn("console: no pty; the console is only logged", "err", err)
		return c, nil
	}
	c.wg.Add(1)
	go c.readPTY()
	return c, nil
}

// TTY is the path of the console's pty ("" without one): what console/tty
// says.
func (c *Console) TTY() string {
	if c.pty == nil {
		return ""
	}
	return c.pty.Path()
}

// readPTY hands what is typed on the pty to Poll, one chunk at a time: it
// reads no more while a chunk waits, so a guest that does not read its
// input leaves the rest in the terminal, as xenconsoled does.
func (c *Console) readPTY() {
	defer c.wg.Done()
	for {
		buf := make([]byte, InSize)
		n, err := c.pty.Read(buf)
		if n > 0 {
			select {
			case c.input <- buf[:n]:
			case <-c.done:
				return
			}
			if c.cfg.OnInput != nil {
				c.cfg.OnInput()
			}
		}
		if err != nil {
			return
		}
	}
}

// Poll does one round on the ring: it moves what the guest printed to the
// log and the pty and advances out_cons, and puts waiting input in the
// input ring and advances in_prod. It reports whether anything moved. A
// ring whose indexes are corrupt is reset (out_cons set to out_prod) or,
// for input, left alone and the input dropped, with one log line. The
// error is the page access's: errdefs.IsNotFound when the domain is gone.
func (c *Console) Poll(ctx context.Context) (moved bool, err error) {
	id, pfn := hypervisor.DomID(c.cfg.DomID), c.cfg.RingRef
	if len(c.pending) == 0 {
		select {
		case c.pending = <-c.input:
		default:
		}
	}
	if len(c.pending) == 0 {
		// Nothing to type: the indexes say whether there is anything to read.
		q, ok, err := quiet(ctx, c.cfg.Pages, id, pfn)
		if err != nil {
			return false, fmt.Errorf("console: domain %d: reading the ring's indexes %#x: %w", c.cfg.DomID, pfn, err)
		}
		if ok && q {
			c.outCorrupt = false
			_ = c.out.release()
			return false, nil
		}
	}
	page, err := c.cfg.Pages.ReadPage(ctx, id, pfn)
	if err != nil {
		return false, fmt.Errorf("console: domain %d: reading the ring page %#x: %w", c.cfg.DomID, pfn, err)
	}
	var spans []span
	ix := ReadIndexes(page)
	out, err := Output(page)
	switch {
	case errors.Is(err, ErrCorrupt):
		if !c.outCorrupt {
			c.log.Warn("console output ring is corrupt: reset", "out_cons", ix.OutCons, "out_prod", ix.OutProd)
			c.outCorrupt = true
		}
		SetIndex(page, OffOutCons, ix.OutProd)
		spans = append(spans, span{OffOutCons, 4})
	case err != nil:
		return false, err
	case len(out) > 0:
		c.outCorrupt = false
		c.emit(out)
		SetIndex(page, OffOutCons, ix.OutCons+uint32(len(out)))
		spans = append(spans, span{OffOutCons, 4})
		moved = true
	default:
		c.outCorrupt = false
	}
	if !moved {
		// The guest is quiet: its log holds no descriptor until it prints
		// again, so thousands of idle consoles cost no open files.
		_ = c.out.release()
	}
	if len(c.pending) == 0 {
		select {
		case c.pending = <-c.input:
		default:
		}
	}
	if len(c.pending) > 0 {
		n, err := PutInput(page, c.pending)
		switch {
		case errors.Is(err, ErrCorrupt):
			if !c.inCorrupt {
				c.log.Warn("console input ring is corrupt: input dropped", "in_cons", ix.InCons, "in_prod", ix.InProd)
				c.inCorrupt = true
			}
			c.pending = nil
		case err != nil:
			return moved, err
		case n > 0:
			c.inCorrupt = false
			c.pending = c.pending[n:]
			spans = append(spans, span{OffIn, InSize}, span{OffInProd, 4})
			moved = true
		}
	}
	if len(spans) == 0 {
		return moved, nil
	}
	if err := writeBack(ctx, c.cfg.Pages, id, pfn, page, spans...); err != nil {
		return moved, fmt.Errorf("console: domain %d: writing the ring page %#x: %w", c.cfg.DomID, pfn, err)
	}
	return moved, nil
}

// emit writes out to the log and the pty. A log that cannot be written is
// said once; the pty drops what its buffer cannot take.
func (c *Console) emit(out []byte) {
	if _, err := c.out.Write(out); err != nil {
		if !c.logFailing {
			c.log.Warn("console log write failed", "err", err)
			c.logFailing = true
		}
	} else {
		c.logFailing = false
	}
	if c.pty != nil {
		_, _ = c.pty.Write(out)
	}
}

// Close closes the pty, stops its reader and closes the log. Idempotent.
func (c *Console) Close() error {
	var err error
	c.once.Do(func() {
		close(c.done)
		if c.pty != nil {
			err = c.pty.Close()
		}
		c.wg.Wait()
		err = errors.Join(err, c.out.Close())
	})
	return err
}
