package xenstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

// fakeXenbus stands for the kernel's xenbus device of guest domid: a
// SOCK_SEQPACKET pair keeps every write() a record of its own, and the
// kernel's side relays records to the project's xenstored as the domain's
// connection, recording any write that held bytes of two messages (which
// the real kernel would silently drop).
type fakeXenbus struct {
	guest *os.File
	mu    sync.Mutex
	bad   []string
	msgs  int
}

func newFakeXenbus(t *testing.T, srv *xenstored.Server, domid uint32) *fakeXenbus {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, syscall.SetNonblock(fds[0], true))
	require.NoError(t, syscall.SetNonblock(fds[1], true))
	fx := &fakeXenbus{guest: os.NewFile(uintptr(fds[0]), "xenbus")}
	kernel := os.NewFile(uintptr(fds[1]), "xenbus-kernel")
	dom, err := srv.ConnectDomain(domid)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // guest -> xenstored, one record per write()
		defer wg.Done()
		defer kernel.Close() // a broken relay fails the guest's calls at once
		defer dom.Close()
		fx.relayRequests(kernel, dom)
	}()
	go func() { // xenstored -> guest: replies and events, any framing
		defer wg.Done()
		_, _ = io.Copy(kernel, dom)
	}()
	t.Cleanup(func() {
		kernel.Close()
		dom.Close()
		wg.Wait()
	})
	return fx
}

func (fx *fakeXenbus) relayRequests(kernel *os.File, dom net.Conn) {
	var pending []byte
	buf := make([]byte, 2*(xenstore.HeaderSize+xenstore.PayloadMax))
	for {
		n, err := kernel.Read(buf)
		if err != nil || n == 0 {
			return
		}
		pending = append(pending, buf[:n]...)
		if len(pending) < xenstore.HeaderSize {
			continue
		}
		size := xenstore.HeaderSize + int(binary.NativeEndian.Uint32(pending[12:16]))
		if len(pending) > size {
			fx.mu.Lock()
			fx.bad = append(fx.bad, fmt.Sprintf("a write of %d bytes ends %d bytes into the next message",
				n, len(pending)-size))
			fx.mu.Unlock()
			return
		}
		if len(pending) == size {
			fx.mu.Lock()
			fx.msgs++
			fx.mu.Unlock()
			if _, err := dom.Write(pending); err != nil {
				return
			}
			pending = nil
		}
	}
}

func (fx *fakeXenbus) check(t *testing.T) int {
	t.Helper()
	fx.mu.Lock()
	defer fx.mu.Unlock()
	require.Empty(t, fx.bad)
	return fx.msgs
}

// introduce makes domid a domain with a home it owns, as a toolstack does.
func introduce(t *testing.T, srv *xenstored.Server, domid uint32) {
	t.Helper()
	nc, err := srv.ConnectDomain(0)
	require.NoError(t, err)
	dom0 := xenstore.NewClient(nc)
	defer dom0.Close()
	ctx := context.Background()
	require.NoError(t, dom0.Introduce(ctx, domid, 1, 1))
	home := xenstore.DomainPath(domid)
	require.NoError(t, dom0.MkdirPerms(ctx, home, []xenstore.Perm{{Domid: domid, Access: xenstore.AccessNone}}))
	require.NoError(t, dom0.Write(ctx, home+"/name", []byte("guest")))
}

func TestXenbusClient_OneMessagePerWrite(t *testing.T) {
	srv := xenstored.New(xenstored.Config{})
	t.Cleanup(func() { srv.Close() })
	introduce(t, srv, 7)
	fx := newFakeXenbus(t, srv, 7)
	c := xenstore.NewXenbusClient(fx.guest)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A watch on a relative path: its first event, then one per write.
	w, err := c.Watch(ctx, "data", "tok")
	require.NoError(t, err)
	ev := <-w.Events()
	require.Equal(t, "data", ev.Path)

	// Many callers at once: the client combines their frames into one
	// write, which the device must see as one write per message.
	const n = 64
	errs := make(chan error, n)
	for i := range n {
		go func() {
			p := fmt.Sprintf("data/k%d", i)
			if err := c.Write(ctx, p, []byte(p)); err != nil {
				errs <- err
				return
			}
			v, err := c.Read(ctx, p)
			if err == nil && string(v) != p {
				err = fmt.Errorf("read %s: %q", p, v)
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	// A transaction works through the device, and a value at a guest's
	// size quota goes through whole.
	big := make([]byte, 2048)
	for i := range big {
		big[i] = 'x'
	}
	require.NoError(t, c.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := tx.Write(ctx, "data/big", big); err != nil {
			return err
		}
		return tx.Write(ctx, "data/updated", []byte("1"))
	}))
	v, err := c.Read(ctx, xenstore.DomainPath(7)+"/data/big")
	require.NoError(t, err)
	require.Equal(t, big, v)
	// The guest's permissions apply: another domain's home is closed.
	_, err = c.Read(ctx, "/local/domain/0/name")
	require.Error(t, err)

	require.GreaterOrEqual(t, fx.check(t), 2*n+4)
	require.Eventually(t, func() bool {
		select {
		case ev := <-w.Events():
			return ev.Path == "data/updated"
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond)
}

func TestOpenXenbus_NoDevice(t *testing.T) {
	_, err := xenstore.OpenXenbus(t.TempDir() + "/none")
	require.Error(t, err)
	require.True(t, errors.Is(err, os.ErrNotExist))
}
