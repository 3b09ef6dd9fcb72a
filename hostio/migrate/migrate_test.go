package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const testToken = "secret-token"

// meta is the metadata the tests' destination prepares from.
type meta struct {
	UUID      string
	MemoryKiB uint64
}

// host is a simulated host with a migration listener.
type host struct {
	hv   *hvsim.Sim
	srv  *migrate.Server
	addr string

	mu        sync.Mutex
	commitErr error               // what Commit fails with
	sums      map[string][32]byte // memory at commit, before the unpause, by uuid
	owned     map[string]hypervisor.DomID
}

func newHost(t *testing.T, cfg hvsim.Config, receivers int) *host {
	t.Helper()
	return newHostWith(t, cfg, receivers, nil)
}

// newHostWith is newHost with the server changed by mod (if not nil)
// before it serves.
func newHostWith(t *testing.T, cfg hvsim.Config, receivers int, mod func(*migrate.Server)) *host {
	t.Helper()
	h := &host{hv: hvsim.New(cfg), sums: map[string][32]byte{}, owned: map[string]hypervisor.DomID{}}
	h.srv = &migrate.Server{Token: testToken, Destination: h, MaxReceivers: receivers}
	if mod != nil {
		mod(h.srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return h
}

// Prepare implements migrate.Destination: an empty domain.
func (h *host) Prepare(ctx context.Context, b []byte) (migrate.Incoming, error) {
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	id, err := h.hv.Create(ctx, hypervisor.CreateConfig{UUID: m.UUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: m.MemoryKiB})
	if err != nil {
		return nil, err
	}
	return &incoming{h: h, uuid: m.UUID, id: id}, nil
}

type incoming struct {
	h    *host
	uuid string
	id   hypervisor.DomID
}

func (in *incoming) Restore(ctx context.Context, r io.Reader) error {
	_, err := in.h.hv.Restore(ctx, in.id, r)
	return err
}

func (in *incoming) Commit(ctx context.Context) error {
	in.h.mu.Lock()
	defer in.h.mu.Unlock()
	if in.h.commitErr != nil {
		return in.h.commitErr
	}
	sum, err := in.h.hv.MemoryChecksum(ctx, in.id)
	if err != nil {
		return err
	}
	in.h.sums[in.uuid] = sum
	in.h.owned[in.uuid] = in.id
	return in.h.hv.Unpause(ctx, in.id)
}

func (in *incoming) Abort(ctx context.Context) { _ = in.h.hv.Destroy(ctx, in.id) }

// guests lists the host's domains other than dom0.
func (h *host) guests(t *testing.T) []hypervisor.DomainInfo {
	t.Helper()
	all, err := h.hv.ListDomains(context.Background())
	require.NoError(t, err)
	var out []hypervisor.DomainInfo
	for _, d := range all {
		if d.ID != hypervisor.Dom0 && !d.Dying {
			out = append(out, d)
		}
	}
	return out
}

// runningGuest builds and unpauses a guest of memKiB on h.
func runningGuest(t *testing.T, h *host, uuid string, memKiB uint64) hypervisor.DomID {
	t.Helper()
	ctx := context.Background()
	id, err := h.hv.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: memKiB})
	require.NoError(t, err)
	_, err = h.hv.Build(ctx, id, hypervisor.BuildConfig{Kernel: "/boot/vmlinuz", MemoryKiB: memKiB})
	require.NoError(t, err)
	require.NoError(t, h.hv.WritePage(ctx, id, 7, []byte("hello from "+uuid)))
	require.NoError(t, h.hv.Unpause(ctx, id))
	return id
}

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// send migrates domain id of src to dst.
func send(ctx context.Context, src *host, id hypervisor.DomID, uuid, addr string, mod func(*migrate.SendConfig)) (migrate.Result, error) {
	info, err := src.hv.DomainInfo(ctx, id)
	if err != nil {
		return migrate.Result{}, err
	}
	m, _ := json.Marshal(meta{UUID: uuid, MemoryKiB: info.MemoryKiB})
	cfg := migrate.SendConfig{Token: testToken, Metadata: m, Hypervisor: src.hv, DomID: id, Live: true}
	if mod != nil {
		mod(&cfg)
	}
	conn, err := migrate.Dial(ctx, addr, nil)
	if err != nil {
		return migrate.Result{}, err
	}
	return migrate.Send(ctx, conn, cfg)
}

func TestSend_LiveMigrationCarriesTheMemory(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			ctx := context.Background()
			src := newHost(t, hvsim.Config{DirtyPagesPerSecond: 200000, WorkingSetPages: 2048}, 2)
			dst := newHost(t, hvsim.Config{}, 2)
			uuid := uuidN(1)
			id := runningGuest(t, src, uuid, 64<<10)
			var rounds []migrate.Progress
			res, err := send(ctx, src, id, uuid, dst.addr, func(c *migrate.SendConfig) {
				c.Compress = compress
				c.DirtyThreshold = 1 // the writing guest keeps dirtying: every round runs
				c.MaxIterations = 3
				c.Progress = func(p migrate.Progress) { rounds = append(rounds, p) }
				// Let the guest write between rounds.
				c.Suspend = func(ctx context.Context) error { return src.hv.Pause(ctx, id) }
			})
			require.NoError(t, err)
			require.Len(t, rounds, 4, "the full copy and three rounds of dirty pages")
			assert.Equal(t, 3, res.Iterations)
			assert.Equal(t, int64(16<<10), rounds[0].PagesSent, "the first round sends every page")
			assert.Positive(t, res.BytesSent)
			assert.LessOrEqual(t, rounds[3].BytesSent, res.BytesSent)

			// The source's domain is left paused, as it was at the suspend.
			si := info(t, src.hv, id)
			assert.True(t, si.Paused)
			want, err := src.hv.MemoryChecksum(ctx, id)
			require.NoError(t, err)
			dst.mu.Lock()
			got, did := dst.sums[uuid], dst.owned[uuid]
			dst.mu.Unlock()
			assert.Equal(t, want, got, "the destination's memory is the source's at suspend time")
			di := info(t, dst.hv, did)
			assert.False(t, di.Paused, "the destination runs the guest")
			page, err := dst.hv.ReadPage(ctx, did, 7)
			require.NoError(t, err)
			assert.Equal(t, "hello from "+uuid, string(page[:len("hello from ")+len(uuid)]))
		})
	}
}

func info(t *testing.T, hv *hvsim.Sim, id hypervisor.DomID) hypervisor.DomainInfo {
	t.Helper()
	i, err := hv.DomainInfo(context.Background(), id)
	require.NoError(t, err)
	return i
}

// requireFailedCleanly checks that a failed migration left the guest
// running on the source and nothing on the destination.
func requireFailedCleanly(t *testing.T, src, dst *host, id hypervisor.DomID, err error) {
	t.Helper()
	require.Error(t, err)
	si := info(t, src.hv, id)
	assert.False(t, si.Paused, "the guest runs on the source again")
	assert.False(t, si.Shutdown)
	require.Eventually(t, func() bool { return len(dst.guests(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
		"the destination aborted its domain")
}

// TestServer_TrustedPeerNeedsNoToken checks Server.Trusted: a connection
// it vouches for migrates without the token; one it does not is refused.
func TestServer_TrustedPeerNeedsNoToken(t *testing.T) {
	ctx := context.Background()
	src := newHost(t, hvsim.Config{}, 4)
	id := runningGuest(t, src, uuidN(7), 16<<10)
	var asked atomic.Int32
	trusted := func(trust bool) func(*migrate.Server) {
		return func(s *migrate.Server) {
			s.Trusted = func(conn net.Conn) bool {
				asked.Add(1)
				return trust && conn.RemoteAddr() != nil
			}
		}
	}
	noToken := func(c *migrate.SendConfig) { c.Token = "" }

	dst := newHostWith(t, hvsim.Config{}, 1, trusted(false))
	_, err := send(ctx, src, id, uuidN(7), dst.addr, noToken)
	requireFailedCleanly(t, src, dst, id, err)
	assert.ErrorContains(t, err, "bad token")

	dst = newHostWith(t, hvsim.Config{}, 1, trusted(true))
	_, err = send(ctx, src, id, uuidN(7), dst.addr, noToken)
	require.NoError(t, err)
	require.Len(t, dst.guests(t), 1, "the destination runs the VM")
	require.EqualValues(t, 2, asked.Load())
}

func TestSend_Failures(t *testing.T) {
	ctx := context.Background()
	src := newHost(t, hvsim.Config{DirtyPagesPerSecond: 100000, WorkingSetPages: 1024}, 4)
	id := runningGuest(t, src, uuidN(2), 32<<10)
	metaOf := func() []byte {
		b, _ := json.Marshal(meta{UUID: uuidN(2), MemoryKiB: 32 << 10})
		return b
	}

	t.Run("bad token", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{}, 1)
		_, err := send(ctx, src, id, uuidN(2), dst.addr, func(c *migrate.SendConfig) { c.Token = "wrong" })
		requireFailedCleanly(t, src, dst, id, err)
		assert.ErrorContains(t, err, "hello: destination: hello: bad token")
	})
	t.Run("destination out of memory", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{HostMemoryKiB: 1 << 20, Dom0MemoryKiB: 1<<20 - 16<<10}, 1)
		_, err := send(ctx, src, id, uuidN(2), dst.addr, nil)
		requireFailedCleanly(t, src, dst, id, err)
		assert.ErrorContains(t, err, "memory: destination:")
		assert.ErrorIs(t, err, errdefs.ErrUnavailable)
	})
	t.Run("destination fails its commit", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{}, 1)
		dst.commitErr = errors.New("plug vif 0: no bridge")
		_, err := send(ctx, src, id, uuidN(2), dst.addr, nil)
		requireFailedCleanly(t, src, dst, id, err)
		assert.ErrorContains(t, err, "commit: destination: plug vif 0: no bridge")
	})
	t.Run("cancel during pre-copy", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{}, 1)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := send(cctx, src, id, uuidN(2), dst.addr, func(c *migrate.SendConfig) {
			c.DirtyThreshold = 1
			c.Progress = func(p migrate.Progress) {
				if p.Iteration == 1 {
					cancel()
				}
			}
		})
		requireFailedCleanly(t, src, dst, id, err)
		assert.ErrorIs(t, err, errdefs.ErrCanceled)
	})
	t.Run("cancel after the suspend", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{}, 1)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := send(cctx, src, id, uuidN(2), dst.addr, func(c *migrate.SendConfig) {
			c.Suspend = func(ctx context.Context) error {
				err := src.hv.Pause(ctx, id)
				cancel()
				return err
			}
		})
		requireFailedCleanly(t, src, dst, id, err)
		assert.ErrorIs(t, err, errdefs.ErrCanceled)
	})
	for _, cut := range []int64{10, 200, 64 << 10, 4 << 20} {
		t.Run(fmt.Sprintf("network cut after %d bytes", cut), func(t *testing.T) {
			dst := newHost(t, hvsim.Config{}, 1)
			proxy := cutProxy(t, dst.addr, cut)
			_, err := send(ctx, src, id, uuidN(2), proxy, nil)
			requireFailedCleanly(t, src, dst, id, err)
		})
	}
	t.Run("destination closed mid-stream", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{}, 1)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		// A destination that accepts the hello and metadata, then dies.
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			in, _ := dst.Prepare(ctx, metaOf())
			defer in.Abort(ctx)
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			_ = migrate.WriteStatus(c, nil)
			_, _ = c.Read(buf)
			_ = migrate.WriteStatus(c, nil)
			_, _ = io.ReadFull(c, make([]byte, 100<<10))
			_ = c.Close()
		}()
		_, err = send(ctx, src, id, uuidN(2), ln.Addr().String(), nil)
		requireFailedCleanly(t, src, dst, id, err)
		assert.ErrorContains(t, err, "memory")
	})
	t.Run("guest crash mid-migration", func(t *testing.T) {
		dst := newHost(t, hvsim.Config{}, 1)
		crashed := runningGuest(t, src, uuidN(3), 16<<10)
		_, err := send(ctx, src, crashed, uuidN(3), dst.addr, func(c *migrate.SendConfig) {
			c.DirtyThreshold = 1
			c.Progress = func(p migrate.Progress) {
				if p.Iteration == 1 {
					_ = src.hv.GuestShutdown(crashed, hypervisor.ShutdownCrash)
				}
			}
		})
		require.Error(t, err)
		require.Eventually(t, func() bool { return len(dst.guests(t)) == 0 }, 10*time.Second, 10*time.Millisecond)
		ci := info(t, src.hv, crashed)
		assert.True(t, ci.Shutdown, "the crashed guest stays on the source for its crash action")
		assert.Equal(t, hypervisor.ShutdownCrash, ci.ShutdownReason)
	})
}

// cutProxy forwards connections to addr and cuts each after n bytes from
// the client.
func cutProxy(t *testing.T, addr string, n int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(c, up) }()
				_, _ = io.CopyN(up, c, n)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestServer_BothWaysConcurrently migrates four guests each way between two
// hosts at once, with fewer receivers than migrations: receiving has its
// own capacity, so nothing deadlocks.
func TestServer_BothWaysConcurrently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := newHost(t, hvsim.Config{DirtyPagesPerSecond: 20000}, 2)
	b := newHost(t, hvsim.Config{DirtyPagesPerSecond: 20000}, 2)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 8 {
		src, dst := a, b
		if i%2 == 1 {
			src, dst = b, a
		}
		uuid := uuidN(100 + i)
		id := runningGuest(t, src, uuid, 8<<10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := send(ctx, src, id, uuid, dst.addr, nil); err != nil {
				t.Errorf("migrate %s: %v", uuid, err)
				failed.Add(1)
				return
			}
			_ = src.hv.Destroy(ctx, id)
		}()
	}
	wg.Wait()
	require.Zero(t, failed.Load())
	for _, h := range []*host{a, b} {
		h.mu.Lock()
		assert.Len(t, h.owned, 4)
		h.mu.Unlock()
		assert.Len(t, h.guests(t), 4)
	}
}

// TestServer_IdleSourceFreesItsReceiver stalls a source after its
// metadata: the destination gives up after IdleTimeout, aborts, and its
// only receiver takes the next migration.
func TestServer_IdleSourceFreesItsReceiver(t *testing.T) {
	ctx := context.Background()
	src := newHost(t, hvsim.Config{}, 1)
	dst := newHost(t, hvsim.Config{}, 1)
	dst.srv.IdleTimeout = 200 * time.Millisecond
	id := runningGuest(t, src, uuidN(7), 8<<10)

	conn, err := migrate.Dial(ctx, dst.addr, nil)
	require.NoError(t, err)
	defer conn.Close()
	h, _ := json.Marshal(map[string]any{"version": migrate.Version, "token": testToken})
	m, _ := json.Marshal(meta{UUID: uuidN(7), MemoryKiB: 8 << 10})
	for _, b := range [][]byte{h, m} {
		var n [4]byte
		n[3] = byte(len(b))
		_, err := conn.Write(append(n[:], b...))
		require.NoError(t, err)
		require.NoError(t, migrate.ReadStatus(conn))
	}
	require.Len(t, dst.guests(t), 1, "the destination prepared a domain")
	// The source says nothing more.
	require.Eventually(t, func() bool { return len(dst.guests(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
		"the destination gave up on the idle source")
	_, err = send(ctx, src, id, uuidN(7), dst.addr, nil)
	require.NoError(t, err, "the receiver is free again")
}
