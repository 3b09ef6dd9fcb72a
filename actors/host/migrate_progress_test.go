package host_test

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
)

// meteredProxy forwards one connection to dest, the source's bytes only as
// far as the test allows (grant); the answers flow freely.
type meteredProxy struct {
	ln    net.Listener
	dest  string
	quota chan int
	wg    sync.WaitGroup
}

func newMeteredProxy(t *testing.T, dest string) *meteredProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &meteredProxy{ln: ln, dest: dest, quota: make(chan int, 1)}
	done := make(chan struct{})
	p.wg.Add(1)
	go p.serve(done)
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *meteredProxy) serve(done chan struct{}) {
	defer p.wg.Done()
	in, err := p.ln.Accept()
	if err != nil {
		return
	}
	defer in.Close()
	out, err := net.Dial("tcp", p.dest)
	if err != nil {
		return
	}
	defer out.Close()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, _ = io.Copy(in, out)
		_ = in.Close()
	}()
	buf := make([]byte, 256<<10)
	for {
		var n int
		select {
		case n = <-p.quota:
		case <-done:
			_ = out.Close()
			return
		}
		// One read per grant: a source waiting for an answer has sent
		// all it had.
		k, err := in.Read(buf[:min(n, len(buf))])
		if k > 0 {
			if _, werr := out.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = out.(*net.TCPConn).CloseWrite()
			return
		}
	}
}

// grant lets up to n more bytes of the source through, unless the last
// grant is not used yet.
func (p *meteredProxy) grant(n int) {
	select {
	case p.quota <- n:
	default:
	}
}

// TestMigration_TaskShowsGrowingBytesSent meters a live migration's
// connection and reads its task while it runs: the task's detail has the
// bytes sent so far, growing from round to round, with the round, the dirty
// rate and the estimated downtime.
func TestMigration_TaskShowsGrowingBytesSent(t *testing.T) {
	// The guest keeps writing, so that every round has pages to resend.
	a := newMigrationHost(t, sim.Config{Hypervisor: hvsim.Config{DirtyPagesPerSecond: 100000, WorkingSetPages: 4096}})
	b := newMigrationHost(t, sim.Config{})
	_, c := a.startVM(t)
	ctx := ctxFor(t)
	proxy := newMeteredProxy(t, b.addr)

	id, err := c.Migrate(ctx, vm.MigrateVM{Dest: "127.0.0.1:" + port(t, proxy.ln.Addr()), Token: migrateToken,
		Live: true, DirtyThreshold: 1, MaxIterations: 3})
	require.NoError(t, err)
	var seen []int64
	var task tasks.Task
	for {
		proxy.grant(256 << 10)
		task, err = a.tc.Get(ctx, id)
		require.NoError(t, err)
		if task.Done() {
			break
		}
		if s, ok := task.Detail["bytes_sent"]; ok {
			n, err := strconv.ParseInt(s, 10, 64)
			require.NoError(t, err)
			if len(seen) == 0 || seen[len(seen)-1] != n {
				seen = append(seen, n)
				for _, k := range []string{"iteration", "dirty_pages_per_second", "estimated_downtime_ms"} {
					assert.Contains(t, task.Detail, k)
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, tasks.Completed, task.State, "migrate: %s", task.Error)
	require.GreaterOrEqual(t, len(seen), 2, "the pending task showed bytes sent growing: %v", seen)
	for i := 1; i < len(seen); i++ {
		assert.Greater(t, seen[i], seen[i-1], "bytes sent grow: %v", seen)
	}
}

// port is the port of addr.
func port(t *testing.T, addr net.Addr) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr.String())
	require.NoError(t, err)
	return p
}
