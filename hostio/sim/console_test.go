package sim_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// bootOne boots a guest of image on a new simulated host and returns the
// host, dom0's connection, the domain and its console ring page.
func bootOne(t *testing.T, image string) (*sim.Host, *xenstore.Client, hypervisor.DomID, uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := simtest.NewHost(t)
	b, err := simtest.NewBooter(ctx, h)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	id, err := b.Boot(ctx, image)
	require.NoError(t, err)
	xs := simtest.Dom0(t, h)
	info, err := console.Lookup(ctx, xs, uint32(id))
	require.NoError(t, err)
	require.True(t, info.Served())
	rings, err := h.Sim().Rings(ctx, id)
	require.NoError(t, err)
	require.Equal(t, rings.ConsoleGFN, info.RingRef)
	require.Equal(t, rings.ConsolePort, info.Port)
	return h, xs, id, info.RingRef
}

// ringText returns everything queued in the output ring.
func ringText(t *testing.T, h *sim.Host, id hypervisor.DomID, pfn uint64) string {
	t.Helper()
	page, err := h.Sim().ReadPage(context.Background(), id, pfn)
	require.NoError(t, err)
	out, err := console.Output(page)
	require.NoError(t, err)
	return string(out)
}

func shutdown(t *testing.T, h *sim.Host, xs *xenstore.Client, id hypervisor.DomID, req string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, xs.Write(ctx, xenstore.DomainPath(uint32(id))+"/control/shutdown", []byte(req)))
	require.Eventually(t, func() bool {
		info, err := h.Sim().DomainInfo(ctx, id)
		return err == nil && info.Shutdown
	}, 5*time.Second, time.Millisecond)
}

// waitConnected waits until the guest printed that its VIF is up, the last
// line of its boot: its frontends connect after the boot returned.
func waitConnected(t *testing.T, h *sim.Host, id hypervisor.DomID, pfn uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(ringText(t, h, id, pfn), "eth0 up\n") },
		10*time.Second, 5*time.Millisecond)
}

func TestGuestConsole_BannerFrontendsAndShutdown(t *testing.T) {
	h, xs, id, pfn := bootOne(t, "sim:linux")
	waitConnected(t, h, id, pfn)
	text := ringText(t, h, id, pfn)
	require.Contains(t, text, "Linux version")
	require.Contains(t, text, "(xenactor simulated guest)")
	require.Contains(t, text, "xen_netfront: Initialising Xen virtual ethernet driver\n")
	require.Contains(t, text, "blkfront: vbd-51712")
	require.Less(t, strings.Index(text, "Linux version"), strings.Index(text, "xen_netfront"))

	shutdown(t, h, xs, id, "poweroff")
	require.True(t, strings.HasSuffix(ringText(t, h, id, pfn), "reboot: Power down\n"))
}

// A full ring (nobody reads it) makes the guest drop its output, never
// block: its shutdown still happens, and out_prod does not move.
func TestGuestConsole_FullRingDropsOutput(t *testing.T) {
	h, xs, id, pfn := bootOne(t, "sim:linux")
	ctx := context.Background()
	waitConnected(t, h, id, pfn)
	page, err := h.Sim().ReadPage(ctx, id, pfn)
	require.NoError(t, err)
	ix := console.ReadIndexes(page)
	full := make([]byte, 4)
	console.SetIndex(full, 0, ix.OutProd-console.OutSize)
	require.NoError(t, h.Sim().WritePageAt(ctx, id, pfn, console.OffOutCons, full))

	shutdown(t, h, xs, id, "reboot")
	page, err = h.Sim().ReadPage(ctx, id, pfn)
	require.NoError(t, err)
	require.Equal(t, ix.OutProd, console.ReadIndexes(page).OutProd)
}

// A daemon that writes whole pages may put back an older copy of the
// guest's fields; the guest's next print repairs them from its own copy.
func TestGuestConsole_RepairsAClobberedRing(t *testing.T) {
	h, xs, id, pfn := bootOne(t, "sim:linux")
	ctx := context.Background()
	waitConnected(t, h, id, pfn)
	before := ringText(t, h, id, pfn)
	require.NoError(t, h.Sim().WritePage(ctx, id, pfn, nil))

	shutdown(t, h, xs, id, "poweroff")
	require.Equal(t, before+"reboot: Power down\n", ringText(t, h, id, pfn))
}

// The windows profile has its own banner.
func TestGuestConsole_Profiles(t *testing.T) {
	h, _, id, pfn := bootOne(t, "sim:windows")
	require.Contains(t, ringText(t, h, id, pfn), "XENBUS: domain "+strconv.Itoa(int(id)))
}
