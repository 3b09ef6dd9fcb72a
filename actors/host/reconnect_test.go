package host_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// conns dials dom0 connections to the simulated host's xenstored and can
// cut them all, as a xenstored restart would.
type conns struct {
	e    *env
	mu   sync.Mutex
	open []net.Conn
	down bool
}

func (c *conns) dial(context.Context) (*xenstore.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, errdefs.ErrUnavailable
	}
	nc, err := c.e.h.Xenstore().ConnectDomain(0)
	if err != nil {
		return nil, err
	}
	c.open = append(c.open, nc)
	return xenstore.NewClient(nc), nil
}

// cut closes every connection and refuses new ones until restore.
func (c *conns) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	for _, nc := range c.open {
		_ = nc.Close()
	}
	c.open = nil
}

func (c *conns) restore() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = false
}

func TestHost_LostXenstoreConnection(t *testing.T) {
	e := newEnv(t)
	cs := &conns{e: e}
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: cs.dial, Hotplug: e.h.Hotplug().Device(),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	a, b := newSpec(), newSpec()
	b.VIFs[0].MAC = "00:16:3e:00:00:02"
	domA, domB := startVM(t, e, hc, a), startVM(t, e, hc, b)

	// xenstored goes away; while it is unreachable for the toolstack, A's
	// guest powers off.
	cs.cut()
	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+domA.String()+"/control/shutdown", []byte("poweroff")))
	require.Eventually(t, func() bool {
		info, err := e.h.Hypervisor().DomainInfo(ctx, domA)
		return errdefs.IsNotFound(err) || (err == nil && info.Shutdown)
	}, waitFor, tick, "the guest shut down")
	time.Sleep(200 * time.Millisecond) // some redial attempts fail meanwhile
	cs.restore()

	// Every VM is checked again on the new connection: A's shutdown is
	// handled (destroyed: OnShutdown), B is adopted and works.
	require.Eventually(t, func() bool {
		l, err := hc.ListVMs(ctx)
		if err != nil || len(l) != 2 {
			return false
		}
		st := map[string]host.VMInfo{l[0].Spec.UUID: l[0], l[1].Spec.UUID: l[1]}
		return st[a.UUID].PowerState == vm.Halted && st[b.UUID].PowerState == vm.Running &&
			st[b.UUID].DomID == domB
	}, 2*waitFor, tick)
	require.Eventually(t, func() bool {
		_, err := e.h.Hypervisor().DomainInfo(ctx, domA)
		return errdefs.IsNotFound(err)
	}, waitFor, tick, "A's domain is destroyed")

	// B's operations work again once its actor is on the new connection
	// (a clean shutdown writes control/shutdown).
	tc := taskClient(t, e, hc)
	var last tasks.Task
	require.Eventually(t, func() bool {
		bc, err := hc.VM(ctx, b.UUID)
		if err != nil {
			return false
		}
		id, err := bc.Shutdown(ctx, false)
		if err != nil {
			return false
		}
		last, err = tc.Wait(ctx, id)
		return err == nil && last.State == tasks.Completed
	}, 2*waitFor, 50*time.Millisecond, "clean shutdown on the new connection: %+v", last)
	e.requireXenstoreEmpty(t)
}
