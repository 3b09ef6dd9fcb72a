//go:build xen && linux && cgo

package xen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// pollInterval is how often the safety-net poll compares the domain list.
const pollInterval = time.Second

// watchToken is the token of the backend's xenstore watches.
const watchToken = "xenactor-hypervisor-xen"

// events fans the host's domain state changes out to the channels of
// Events. Its sources start with the first Events call: VIRQ_DOM_EXC if
// this process can bind it, else xenstored's @releaseDomain and
// @introduceDomain watches; a poll of the domain list runs beside either,
// and the backend signals after its own changes.
type events struct {
	h    *Hypervisor
	quit chan struct{}
	wg   sync.WaitGroup

	// pollEvery is pollInterval; tests stretch it to see the other
	// sources alone.
	pollEvery time.Duration

	mu       sync.Mutex
	subs     map[chan struct{}]struct{}
	source   string // "virq" or "xenstore" once started
	started  bool
	closed   bool
	virqFile *os.File // read side of VIRQ_DOM_EXC, closed to stop its reader
}

func newEvents(h *Hypervisor) *events {
	return &events{h: h, quit: make(chan struct{}), subs: make(map[chan struct{}]struct{}), pollEvery: pollInterval}
}

// signal gives every subscriber a pending signal (one at most).
func (e *events) signal() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Events implements hypervisor.Events.
func (h *Hypervisor) Events(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	e := h.ev
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("events: the Xen backend is closed: %w", errdefs.ErrUnavailable)
	}
	if !e.started {
		e.started = true
		e.start()
	}
	ch := make(chan struct{}, 1)
	e.subs[ch] = struct{}{}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-ctx.Done():
		case <-e.quit:
		}
		e.mu.Lock()
		delete(e.subs, ch)
		close(ch)
		e.mu.Unlock()
	}()
	return ch, nil
}

// close stops the sources and closes every channel; e.mu is not held.
func (e *events) close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	close(e.quit)
	if e.virqFile != nil {
		_ = e.virqFile.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// start starts the sources; e.mu is held.
func (e *events) start() {
	log := e.h.log
	v, err := bindVIRQ()
	switch {
	case err == nil:
		f, ferr := virqReader(v)
		if ferr == nil {
			log.Info("xen events: VIRQ_DOM_EXC bound", "port", v.port)
			e.source = "virq"
			e.virqFile = f
			e.wg.Add(1)
			go e.readVIRQ(v, f)
			break
		}
		v.close()
		log.Warn("xen events: cannot read the VIRQ_DOM_EXC channel; watching xenstore", "err", ferr)
		e.source = "xenstore"
		e.wg.Add(1)
		go e.watchXenstore()
	default:
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.EBUSY) {
			log.Info("xen events: VIRQ_DOM_EXC is held by another process (xenstored); watching @releaseDomain and @introduceDomain")
		} else {
			log.Warn("xen events: cannot bind VIRQ_DOM_EXC; watching xenstore", "err", err)
		}
		e.source = "xenstore"
		e.wg.Add(1)
		go e.watchXenstore()
	}
	e.wg.Add(1)
	go e.poll()
}

// virqReader returns a non-blocking duplicate of the event channel
// handle's descriptor, read through Go's poller.
func virqReader(v *virq) (*os.File, error) {
	fd, err := syscall.Dup(v.fd())
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/xen/evtchn"), nil
}

// readVIRQ signals on each VIRQ_DOM_EXC and unmasks the port again, until
// f is closed.
func (e *events) readVIRQ(v *virq, f *os.File) {
	defer e.wg.Done()
	defer v.close()
	var buf [4]byte
	for {
		if _, err := f.Read(buf[:]); err != nil {
			select {
			case <-e.quit:
			default:
				e.h.log.Warn("xen events: VIRQ_DOM_EXC channel failed; only polling now", "err", err)
			}
			return
		}
		e.signal()
		port := binary.NativeEndian.Uint32(buf[:])
		if _, err := f.Write(buf[:]); err != nil {
			e.h.log.Warn("xen events: unmask", "port", port, "err", err)
		}
	}
}

// watchXenstore signals on every @releaseDomain and @introduceDomain
// event, dialling xenstored again a second after the connection is lost.
func (e *events) watchXenstore() {
	defer e.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		if err := e.watchOnce(ctx); err != nil && ctx.Err() == nil {
			e.h.log.Warn("xen events: xenstore watch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
	}
}

func (e *events) watchOnce(ctx context.Context) error {
	c, err := e.h.cfg.Xenstore(ctx)
	if err != nil {
		return fmt.Errorf("dial xenstored: %w", err)
	}
	defer func() { _ = c.Close() }()
	rel, err := c.Watch(ctx, "@releaseDomain", watchToken)
	if err != nil {
		return err
	}
	intro, err := c.Watch(ctx, "@introduceDomain", watchToken)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-rel.Events():
			if !ok {
				return fmt.Errorf("@releaseDomain watch ended: %w", c.Err())
			}
		case _, ok := <-intro.Events():
			if !ok {
				return fmt.Errorf("@introduceDomain watch ended: %w", c.Err())
			}
		}
		e.signal()
	}
}

// stateKey is what the poll compares of a domain: its id, handle and the
// state flags (not running and blocked, which change all the time).
type stateKey struct {
	domid  uint32
	handle [16]byte
	flags  uint32
}

// poll lists the domains every pollInterval and signals when their states
// differ from the last list.
func (e *events) poll() {
	defer e.wg.Done()
	t := time.NewTicker(e.pollEvery)
	defer t.Stop()
	var last []stateKey
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		raw, err := e.h.listRaw()
		if err != nil {
			continue
		}
		cur := make([]stateKey, len(raw))
		for i, r := range raw {
			cur[i] = stateKey{r.domid, r.handle, r.flags &^ (dominfRunning | dominfBlocked)}
		}
		if last != nil && !reflect.DeepEqual(cur, last) {
			e.signal()
		}
		last = cur
	}
}
