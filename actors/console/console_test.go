package console_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/console"
	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/actortest"
)

const waitFor = 5 * time.Second

// env is a simulated host with the console daemon serving it.
type env struct {
	h      *sim.Host
	xs     *xenstore.Client
	boot   *simtest.Booter
	pages  *panicky
	logDir string
	c      console.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h := simtest.NewHost(t)
	b, err := simtest.NewBooter(context.Background(), h)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	e := &env{h: h, xs: simtest.Dom0(t, h), boot: b, pages: &panicky{Sim: h.Sim(), once: map[uint32]bool{}},
		logDir: t.TempDir()}
	system := actortest.System(t)
	pid := system.Root.Spawn(console.Props(console.Config{Dial: simtest.Dom0Dialer(h), Pages: e.pages,
		LogDir: e.logDir, Logger: slog.New(slog.DiscardHandler), PollMin: time.Millisecond, PollMax: 20 * time.Millisecond}))
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	e.c = console.NewClient(system, pid)
	return e
}

// panicky is the simulator's page access, with a read that panics once
// for the domains in once.
type panicky struct {
	*hvsim.Sim
	mu   sync.Mutex
	once map[uint32]bool
}

func (p *panicky) ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error) {
	p.boom(id)
	return p.Sim.ReadPage(ctx, id, pfn)
}

// ReadPageAt is how an idle ring's indexes are read.
func (p *panicky) ReadPageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset, n int) ([]byte, error) {
	p.boom(id)
	return p.Sim.ReadPageAt(ctx, id, pfn, offset, n)
}

// boom panics once if id is in once.
func (p *panicky) boom(id hypervisor.DomID) {
	p.mu.Lock()
	boom := p.once[uint32(id)]
	delete(p.once, uint32(id))
	p.mu.Unlock()
	if boom {
		panic("a bug in the ring reader")
	}
}

func (p *panicky) panicOnce(id hypervisor.DomID) {
	p.mu.Lock()
	p.once[uint32(id)] = true
	p.mu.Unlock()
}

func (e *env) bootGuest(t *testing.T) hypervisor.DomID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	id, err := e.boot.Boot(ctx, "sim:linux")
	require.NoError(t, err)
	return id
}

// logOf returns domain id's log so far.
func (e *env) logOf(id hypervisor.DomID) string {
	b, _ := os.ReadFile(filepath.Join(e.logDir, cons.LogName(uint32(id))))
	return string(b)
}

func (e *env) eventuallyLogged(t *testing.T, id hypervisor.DomID, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(e.logOf(id), want) }, waitFor, time.Millisecond,
		"domain %d's log: %q", id, e.logOf(id))
}

// tty waits until the daemon serves domain id and returns its pty, which
// console/tty names.
func (e *env) tty(t *testing.T, id hypervisor.DomID) string {
	t.Helper()
	var tty string
	require.Eventually(t, func() bool {
		ttys, err := e.c.Consoles(context.Background())
		require.NoError(t, err)
		tty = ttys[uint32(id)]
		v, err := e.xs.Read(context.Background(), cons.ConsolePath(uint32(id))+"/tty")
		return tty != "" && err == nil && string(v) == tty
	}, waitFor, time.Millisecond)
	return tty
}

func (e *env) shutdown(t *testing.T, id hypervisor.DomID) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, e.xs.Write(ctx, xenstore.DomainPath(uint32(id))+"/control/shutdown", []byte("poweroff")))
	require.Eventually(t, func() bool {
		info, err := e.h.Sim().DomainInfo(ctx, id)
		return err == nil && info.Shutdown
	}, waitFor, time.Millisecond)
}

// openTTY opens a console's pty as a user does.
func openTTY(t *testing.T, path string) *os.File {
	t.Helper()
	require.True(t, strings.HasPrefix(path, "/dev/pts/"), path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// readUntil reads f until what it read contains want.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	require.NoError(t, f.SetReadDeadline(time.Now().Add(waitFor)))
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), want) {
		n, err := f.Read(buf)
		require.NoError(t, err, "read so far: %q", got)
		got = append(got, buf[:n]...)
	}
	return string(got)
}

func TestConsole_BannerReachesTheLogAndThePTY(t *testing.T) {
	e := newEnv(t)
	id := e.bootGuest(t)
	e.eventuallyLogged(t, id, "Linux version 6.1.0-xenactor (xenactor simulated guest)")
	e.eventuallyLogged(t, id, "xen_netfront: Initialising Xen virtual ethernet driver\n")
	tty := openTTY(t, e.tty(t, id))
	readUntil(t, tty, "xen_netfront: Initialising Xen virtual ethernet driver\n")

	// A domain shut down is still served: its last words are logged.
	e.shutdown(t, id)
	e.eventuallyLogged(t, id, "reboot: Power down\n")
	readUntil(t, tty, "reboot: Power down\n")
}

func TestConsole_PTYInputReachesTheRing(t *testing.T) {
	e := newEnv(t)
	id := e.bootGuest(t)
	tty := openTTY(t, e.tty(t, id))
	_, err := tty.Write([]byte("root\n"))
	require.NoError(t, err)
	info, err := cons.Lookup(context.Background(), e.xs, uint32(id))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		page, err := e.h.Sim().ReadPage(context.Background(), id, info.RingRef)
		require.NoError(t, err)
		in, err := cons.Input(page)
		require.NoError(t, err)
		return string(in) == "root\n"
	}, waitFor, time.Millisecond)
}

// A guest that scribbles on its ring indexes gets its ring reset; the
// daemon and the other domains go on.
func TestConsole_CorruptRingLeavesOthersAlone(t *testing.T) {
	e := newEnv(t)
	bad, good := e.bootGuest(t), e.bootGuest(t)
	e.eventuallyLogged(t, bad, "Linux version")
	e.eventuallyLogged(t, good, "Linux version")
	info, err := cons.Lookup(context.Background(), e.xs, uint32(bad))
	require.NoError(t, err)
	garbage := make([]byte, 8)
	cons.SetIndex(garbage, 0, 0xdead_beef)
	cons.SetIndex(garbage, 4, 0x0bad_f00d)
	require.NoError(t, e.h.Sim().WritePageAt(context.Background(), bad, info.RingRef, cons.OffOutCons, garbage))
	require.Eventually(t, func() bool {
		page, err := e.h.Sim().ReadPage(context.Background(), bad, info.RingRef)
		require.NoError(t, err)
		ix := cons.ReadIndexes(page)
		return ix.OutCons == ix.OutProd
	}, waitFor, time.Millisecond, "the ring is reset")

	e.shutdown(t, good)
	e.eventuallyLogged(t, good, "reboot: Power down\n")
	require.NotContains(t, e.logOf(bad), "reboot")
	ttys, err := e.c.Consoles(context.Background())
	require.NoError(t, err)
	require.Contains(t, ttys, uint32(bad))
	require.Contains(t, ttys, uint32(good))
}

// A panic reading one domain's ring restarts that domain's actor only: it
// gets a new pty, while the other's pty stays open and keeps working.
func TestConsole_PanicRestartsOneDomainOnly(t *testing.T) {
	e := newEnv(t)
	a, b := e.bootGuest(t), e.bootGuest(t)
	ttyA, ttyB := openTTY(t, e.tty(t, a)), openTTY(t, e.tty(t, b))
	readUntil(t, ttyA, "xen_netfront")
	readUntil(t, ttyB, "xen_netfront")

	e.pages.panicOnce(a)
	// A's old pty is closed: its reader sees the end (EIO).
	require.NoError(t, ttyA.SetReadDeadline(time.Now().Add(waitFor)))
	for {
		if _, err := ttyA.Read(make([]byte, 64)); err != nil {
			require.NotErrorIs(t, err, os.ErrDeadlineExceeded)
			break
		}
	}
	// A is served again, on a new pty.
	var newPath string
	require.Eventually(t, func() bool {
		newPath = e.tty(t, a)
		return newPath != ttyA.Name()
	}, waitFor, time.Millisecond)
	newA := openTTY(t, newPath)
	e.shutdown(t, a)
	e.eventuallyLogged(t, a, "reboot: Power down\n")
	readUntil(t, newA, "reboot: Power down\n")
	// B's pty was never closed.
	e.shutdown(t, b)
	readUntil(t, ttyB, "reboot: Power down\n")
}

// A destroyed domain's actor stops: its pty is freed and its reader
// goroutine ends.
func TestConsole_DestroyedDomainClosesItsPTY(t *testing.T) {
	e := newEnv(t)
	id := e.bootGuest(t)
	tty := e.tty(t, id)
	e.shutdown(t, id)
	e.eventuallyLogged(t, id, "reboot: Power down\n")
	ctx := context.Background()
	require.NoError(t, e.h.Hypervisor().Destroy(ctx, id))
	require.NoError(t, e.xs.Rm(ctx, xenstore.DomainPath(uint32(id))))
	require.Eventually(t, func() bool {
		ttys, err := e.c.Consoles(ctx)
		require.NoError(t, err)
		_, served := ttys[uint32(id)]
		return !served
	}, waitFor, time.Millisecond)
	require.Eventually(t, func() bool {
		_, err := os.Stat(tty)
		return os.IsNotExist(err)
	}, waitFor, time.Millisecond, "the pty is freed")
	require.Eventually(t, func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*Console).readPTY")
	}, waitFor, time.Millisecond, "no pty reader left")
}

// A domain's console that was running when the daemon started is served.
func TestConsole_ServesDomainsThatRanBefore(t *testing.T) {
	h := simtest.NewHost(t)
	b, err := simtest.NewBooter(context.Background(), h)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	id, err := b.Boot(ctx, "sim:linux")
	require.NoError(t, err)
	dir := t.TempDir()
	system := actortest.System(t)
	pid := system.Root.Spawn(console.Props(console.Config{Dial: simtest.Dom0Dialer(h), Pages: h.Sim(), LogDir: dir,
		NoPTY: true, Logger: slog.New(slog.DiscardHandler), PollMax: 20 * time.Millisecond}))
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, cons.LogName(uint32(id))))
		return strings.Contains(string(b), "Linux version")
	}, waitFor, time.Millisecond)
}
