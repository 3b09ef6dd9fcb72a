package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const testUUID = "5f1c9e7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"

// rig is one built domain of a hypervisor simulator and its console ring.
type rig struct {
	s   *hvsim.Sim
	id  hypervisor.DomID
	pfn uint64
}

func newRig(t *testing.T) rig {
	t.Helper()
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	id, err := s.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: 64 << 10})
	require.NoError(t, err)
	res, err := s.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 64 << 10})
	require.NoError(t, err)
	return rig{s: s, id: id, pfn: res.ConsoleGFN}
}

// print is the guest printing text, as the simulated kernel does.
func (r rig) print(t *testing.T, text string) {
	t.Helper()
	ctx := context.Background()
	page := r.page(t)
	n, err := console.PutOutput(page, []byte(text))
	require.NoError(t, err)
	require.Equal(t, len(text), n)
	require.NoError(t, r.s.WritePageAt(ctx, r.id, r.pfn, console.OffOut, page[console.OffOut:console.OffInCons]))
	require.NoError(t, r.s.WritePageAt(ctx, r.id, r.pfn, console.OffOutProd, page[console.OffOutProd:console.OffOutProd+4]))
}

func (r rig) page(t *testing.T) []byte {
	t.Helper()
	page, err := r.s.ReadPage(context.Background(), r.id, r.pfn)
	require.NoError(t, err)
	return page
}

func (r rig) setIndex(t *testing.T, off int, v uint32) {
	t.Helper()
	b := make([]byte, 4)
	console.SetIndex(b, 0, v)
	require.NoError(t, r.s.WritePageAt(context.Background(), r.id, r.pfn, off, b))
}

func (r rig) open(t *testing.T, pages console.Pages, onInput func()) (*console.Console, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := console.Open(console.Config{DomID: uint32(r.id), RingRef: r.pfn, Pages: pages, LogDir: dir, OnInput: onInput})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, filepath.Join(dir, console.LogName(uint32(r.id)))
}

func poll(t *testing.T, c *console.Console) bool {
	t.Helper()
	moved, err := c.Poll(context.Background())
	require.NoError(t, err)
	return moved
}

// openTTY opens the console's pty as a user does.
func openTTY(t *testing.T, c *console.Console) *os.File {
	t.Helper()
	require.True(t, strings.HasPrefix(c.TTY(), "/dev/pts/"), c.TTY())
	f, err := os.OpenFile(c.TTY(), os.O_RDWR, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// readUntil reads f until what it read contains want.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	require.NoError(t, f.SetReadDeadline(time.Now().Add(5*time.Second)))
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), want) {
		n, err := f.Read(buf)
		require.NoError(t, err, "read so far: %q", got)
		got = append(got, buf[:n]...)
	}
	return string(got)
}

func TestConsole_OutputGoesToTheLogAndThePTY(t *testing.T) {
	r := newRig(t)
	c, logPath := r.open(t, r.s, nil)
	require.False(t, poll(t, c), "nothing printed yet")

	r.print(t, "Linux version 6.1 (xenactor simulated guest)\n")
	require.True(t, poll(t, c))
	r.print(t, "second line\n")
	require.True(t, poll(t, c))
	require.False(t, poll(t, c))

	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, "Linux version 6.1 (xenactor simulated guest)\nsecond line\n", string(b))
	ix := console.ReadIndexes(r.page(t))
	require.Equal(t, ix.OutProd, ix.OutCons, "out_cons advanced in the page")

	// The output waited in the terminal for its first reader.
	tty := openTTY(t, c)
	readUntil(t, tty, "second line\n")
}

func TestConsole_InputGoesToTheInRing(t *testing.T) {
	r := newRig(t)
	woke := make(chan struct{}, 16)
	c, _ := r.open(t, r.s, func() { woke <- struct{}{} })
	tty := openTTY(t, c)
	_, err := tty.Write([]byte("root\n"))
	require.NoError(t, err)
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("OnInput was not called")
	}
	require.True(t, poll(t, c))
	in, err := console.Input(r.page(t))
	require.NoError(t, err)
	require.Equal(t, "root\n", string(in), "raw mode: no translation, no echo")
}

// A guest that never reads its input fills the in ring; the rest waits
// in the terminal and goes in once the guest consumed some.
func TestConsole_InputWaitsForRoom(t *testing.T) {
	r := newRig(t)
	c, _ := r.open(t, r.s, nil)
	tty := openTTY(t, c)
	msg := strings.Repeat("abcdefgh", 200) // 1600 bytes, more than the in ring
	_, err := tty.Write([]byte(msg))
	require.NoError(t, err)
	var in []byte
	require.Eventually(t, func() bool {
		poll(t, c)
		in, err = console.Input(r.page(t))
		require.NoError(t, err)
		return len(in) == console.InSize
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, msg[:console.InSize], string(in))

	// The guest consumes it all.
	r.setIndex(t, console.OffInCons, console.ReadIndexes(r.page(t)).InProd)
	require.Eventually(t, func() bool {
		poll(t, c)
		in, err = console.Input(r.page(t))
		require.NoError(t, err)
		return len(in) == len(msg)-console.InSize
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, msg[console.InSize:], string(in))
}

// Garbage in the indexes resets the output ring and drops input: the
// console keeps working once the guest writes sane indexes again.
func TestConsole_CorruptIndexes(t *testing.T) {
	r := newRig(t)
	c, logPath := r.open(t, r.s, nil)
	r.setIndex(t, console.OffOutProd, 0x7fff_0000)
	for range 3 {
		require.False(t, poll(t, c))
	}
	ix := console.ReadIndexes(r.page(t))
	require.Equal(t, uint32(0x7fff_0000), ix.OutCons, "reset to out_prod")

	r.print(t, "sane again\n")
	require.True(t, poll(t, c))
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, "sane again\n", string(b))

	r.setIndex(t, console.OffInCons, 0x1234_5678)
	_, err = openTTY(t, c).Write([]byte("dropped"))
	require.NoError(t, err)
	require.Never(t, func() bool {
		poll(t, c)
		return console.ReadIndexes(r.page(t)).InProd != 0
	}, 200*time.Millisecond, 5*time.Millisecond)
}

// wholePages is page access without WritePageAt, like hvremote's.
type wholePages struct{ s *hvsim.Sim }

func (w wholePages) ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error) {
	return w.s.ReadPage(ctx, id, pfn)
}

func (w wholePages) WritePage(ctx context.Context, id hypervisor.DomID, pfn uint64, data []byte) error {
	return w.s.WritePage(ctx, id, pfn, data)
}

func TestConsole_WholePageAccess(t *testing.T) {
	r := newRig(t)
	c, logPath := r.open(t, wholePages{r.s}, nil)
	r.print(t, "hello\n")
	require.True(t, poll(t, c))
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(b))
	ix := console.ReadIndexes(r.page(t))
	require.Equal(t, ix.OutProd, ix.OutCons)
}

func TestConsole_DomainGone(t *testing.T) {
	r := newRig(t)
	c, _ := r.open(t, r.s, nil)
	require.NoError(t, r.s.Destroy(context.Background(), r.id))
	_, err := c.Poll(context.Background())
	require.True(t, errdefs.IsNotFound(err), "%v", err)
}

// Close frees the pty (its slave disappears) and stops its reader.
func TestConsole_CloseFreesThePTY(t *testing.T) {
	r := newRig(t)
	c, _ := r.open(t, r.s, nil)
	path := c.TTY()
	_, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "idempotent")
	require.Eventually(t, func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	}, 5*time.Second, 5*time.Millisecond)
}

// openFiles lists the process's descriptors that name path.
func openFiles(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

func TestConsole_NoPTY_IdleHoldsNoDescriptor(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	c, err := console.Open(console.Config{DomID: uint32(r.id), RingRef: r.pfn, Pages: r.s, LogDir: dir, NoPTY: true})
	require.NoError(t, err)
	defer c.Close()
	logPath := filepath.Join(dir, console.LogName(uint32(r.id)))
	require.Empty(t, c.TTY(), "no pty")
	require.Equal(t, 1, openFiles(t, logPath), "the log is open from the start")

	r.print(t, "Linux version 6.1\n")
	require.True(t, poll(t, c))
	require.False(t, poll(t, c))
	require.Zero(t, openFiles(t, logPath), "an idle console's log is closed")

	r.print(t, "reboot: Power down\n")
	require.True(t, poll(t, c))
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, "Linux version 6.1\nreboot: Power down\n", string(b), "the log is appended to again")
	require.NoError(t, c.Close())
	require.Zero(t, openFiles(t, logPath))
}

// countingPages counts the whole-page reads of a Pages that can also read
// part of a page.
type countingPages struct {
	*hvsim.Sim
	full atomic.Int64
}

func (w *countingPages) ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error) {
	w.full.Add(1)
	return w.Sim.ReadPage(ctx, id, pfn)
}

func TestConsole_IdlePollReadsTheIndexesOnly(t *testing.T) {
	r := newRig(t)
	pages := &countingPages{Sim: r.s}
	c, logPath := r.open(t, pages, nil)
	for range 5 {
		require.False(t, poll(t, c))
	}
	require.Zero(t, pages.full.Load(), "an idle ring is seen by its indexes")

	r.print(t, "hello\n")
	require.True(t, poll(t, c))
	require.EqualValues(t, 1, pages.full.Load(), "output is read with the page")
	require.False(t, poll(t, c))
	require.EqualValues(t, 1, pages.full.Load())
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(b))
}
