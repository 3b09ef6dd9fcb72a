package watches

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/test/cxenstored"
)

// TestWatches_CXenstored_DepthFallback runs the actor against Debian's C
// xenstored, which has no WATCH depth: the global watches fall back to
// plain ones whose events ask for a rescan, and per-domain watches work.
func TestWatches_CXenstored_DepthFallback(t *testing.T) {
	d := cxenstored.StartForTest(t)
	ctx := tctx(t)
	dial := func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, d.SocketPath()) }
	dom0, err := dial(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { dom0.Close() })

	_, err = dom0.WatchDepth(ctx, xenstore.WatchReleaseDomain, "probe", 1)
	require.Error(t, err, "C xenstored 4.17 has no WATCH depth; if it has now, the fallback is untested")

	s := newSink()
	c := spawn(t, dial, s)
	s.waitDomain(t, 0, WhyRescan) // the global watches are registered

	require.NoError(t, dom0.Introduce(ctx, 5, 1, 1))
	s.waitDomain(t, 0, WhyRescan)

	require.NoError(t, c.WatchDomain(ctx, 5))
	s.waitDomain(t, 5, WhyWatched)
	require.NoError(t, dom0.Write(ctx, xenstore.DomainPath(5)+"/control/shutdown", []byte("poweroff")))
	s.waitDomain(t, 5, WhyControl)

	require.NoError(t, dom0.Release(ctx, 5))
	s.waitDomain(t, 0, WhyRescan)
}
