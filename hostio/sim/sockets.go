package sim

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

// The socket names of a simulated host served in a run directory.
const (
	// XenstoredSocket is where the host's xenstored listens; connections
	// are privileged dom0 connections, as on a real host.
	XenstoredSocket = "xenstored.sock"
	// HypervisorSocket is where the host's hypervisor and hotplug step
	// listen (hvremote), the simulated host's privcmd.
	HypervisorSocket = "hypervisor.sock"
)

// Sockets is a simulated host served on Unix sockets, so that a toolstack
// in another process, or one that is stopped and started again, drives it
// as it would drive a real host.
type Sockets struct {
	// Xenstored and Hypervisor are the paths of the two sockets.
	Xenstored  string
	Hypervisor string

	srv  *hvremote.Server
	once sync.Once
	wg   sync.WaitGroup
	xsL  net.Listener
}

// ServeSockets serves h's xenstored on <dir>/xenstored.sock and its
// hypervisor and hotplug step (hvremote) on <dir>/hypervisor.sock, until
// Close. log may be nil.
func (h *Host) ServeSockets(dir string, log *slog.Logger) (*Sockets, error) {
	if log == nil {
		log = h.log
	}
	s := &Sockets{Xenstored: filepath.Join(dir, XenstoredSocket), Hypervisor: filepath.Join(dir, HypervisorSocket),
		srv: hvremote.NewServer(h.Hypervisor(), h.Hotplug().Device(), hvremote.WithLogger(log))}
	xsL, err := xenstored.Listen(s.Xenstored)
	if err != nil {
		return nil, err
	}
	hvL, err := hvremote.Listen(s.Hypervisor)
	if err != nil {
		xsL.Close()
		os.Remove(s.Xenstored)
		return nil, err
	}
	s.xsL = xsL
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := h.Serve(xsL); err != nil {
			log.Warn("sim: serving xenstored", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(hvL); err != nil {
			log.Warn("sim: serving the hypervisor", "err", err)
		}
	}()
	return s, nil
}

// Close stops serving and removes the sockets; the host keeps running, and
// xenstore connections already open stay open until it closes.
func (s *Sockets) Close() error {
	var err error
	s.once.Do(func() {
		err = errors.Join(s.xsL.Close(), s.srv.Close())
		s.wg.Wait()
		for _, p := range []string{s.Xenstored, s.Hypervisor} {
			if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	})
	return err
}
