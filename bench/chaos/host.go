package chaos

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// Host is the simulated host the daemons of a chaos run drive: served on
// Unix sockets in this process, so it outlives each daemon. The daemons
// reach its xenstored through a proxy that DropXenstore cuts.
type Host struct {
	sim     *sim.Host
	sockets *sim.Sockets
	proxy   *proxy
	// xs is dom0's connection of the checker, in process.
	xs *xenstore.Client
}

// NewHost starts a simulated host with memMiB of memory, its sockets in dir
// (a short path).
func NewHost(dir string, memMiB uint64) (_ *Host, err error) {
	h := &Host{}
	defer func() {
		if err != nil {
			_ = h.Close()
		}
	}()
	if h.sim, err = sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: memMiB << 10},
		Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return nil, err
	}
	if h.sockets, err = h.sim.ServeSockets(dir, nil); err != nil {
		return nil, err
	}
	if h.proxy, err = newProxy(filepath.Join(dir, "xs-proxy.sock"), h.sockets.Xenstored); err != nil {
		return nil, err
	}
	nc, err := h.sim.Xenstore().ConnectDomain(0)
	if err != nil {
		return nil, err
	}
	h.xs = xenstore.NewClient(nc)
	return h, nil
}

// Xenstored is the socket the daemons dial for xenstore (the proxy's).
func (h *Host) Xenstored() string { return h.proxy.path }

// Hypervisor is the socket of the host's hypervisor (hvremote).
func (h *Host) Hypervisor() string { return h.sockets.Hypervisor }

// Sim is the simulated host.
func (h *Host) Sim() *sim.Host { return h.sim }

// DropXenstore closes every xenstored connection made through the proxy
// and returns how many it closed.
func (h *Host) DropXenstore() int { return h.proxy.dropAll() }

// Close stops the host.
func (h *Host) Close() error {
	var errs []error
	if h.xs != nil {
		errs = append(errs, h.xs.Close())
	}
	if h.proxy != nil {
		errs = append(errs, h.proxy.close())
	}
	if h.sockets != nil {
		errs = append(errs, h.sockets.Close())
	}
	if h.sim != nil {
		errs = append(errs, h.sim.Close())
	}
	return errors.Join(errs...)
}

// proxy forwards Unix socket connections to target, and closes them all on
// demand.
type proxy struct {
	path, target string
	l            net.Listener
	mu           sync.Mutex
	conns        map[net.Conn]net.Conn // client side -> server side
	wg           sync.WaitGroup
}

func newProxy(path, target string) (*proxy, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	p := &proxy{path: path, target: target, l: l, conns: make(map[net.Conn]net.Conn)}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		var d net.Dialer
		s, err := d.DialContext(context.Background(), "unix", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = s
		p.mu.Unlock()
		p.wg.Go(func() {
			done := make(chan struct{})
			go func() { _, _ = io.Copy(s, c); s.Close(); close(done) }()
			_, _ = io.Copy(c, s)
			c.Close()
			<-done
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		})
	}
}

func (p *proxy) dropAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		c.Close()
		s.Close()
	}
	return len(p.conns)
}

func (p *proxy) close() error {
	err := p.l.Close()
	p.dropAll()
	p.wg.Wait()
	return err
}
