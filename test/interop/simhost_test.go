package interop

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
	"github.com/xenactor/xenactor/internal/testenv"
)

// TestSimHost_XenstoreLsShowsARealHostsTree boots a guest with a disk and a
// network interface on the simulated host and lists its xenstore with
// Debian's xenstore-ls: the tree has the shape of a real host's.
func TestSimHost_XenstoreLsShowsARealHostsTree(t *testing.T) {
	progs := testenv.RequireExternal(t, "xenstore-ls", "xenstore-read")
	h, err := sim.New(sim.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	socket := filepath.Join(shortDir(t), "socket")
	l, err := xenstored.Listen(socket)
	require.NoError(t, err)
	go h.Serve(l)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := simtest.NewBooter(ctx, h)
	require.NoError(t, err)
	defer b.Close()
	id, err := b.Boot(ctx, "sim:linux,agent=10ms")
	require.NoError(t, err)
	require.Equal(t, uint32(1), uint32(id))

	c := &clients{t: t, ctx: ctx, socket: socket, progs: progs}
	require.Eventually(t, func() bool {
		out, code := c.run("xenstore-read", "/local/domain/1/data/updated")
		return code == 0 && out == "1\n"
	}, 10*time.Second, 10*time.Millisecond, "the guest agent never reported")
	out := c.ok("xenstore-ls", "-f", "/local/domain")
	for _, want := range []string{
		`/local/domain/0/backend/vbd/1/51712/frontend = "/local/domain/1/device/vbd/51712"`,
		`/local/domain/0/backend/vbd/1/51712/state = "4"`,
		`/local/domain/0/backend/vbd/1/51712/physical-device = "7:[0-9a-f]+"`,
		`/local/domain/0/backend/vbd/1/51712/hotplug-status = "connected"`,
		`/local/domain/0/backend/vif/1/0/state = "4"`,
		`/local/domain/0/backend/vif/1/0/mac = "00:16:3e:00:01:00"`,
		`/local/domain/1/device/vbd/51712/backend = "/local/domain/0/backend/vbd/1/51712"`,
		`/local/domain/1/device/vbd/51712/ring-ref = "[0-9]+"`,
		`/local/domain/1/device/vbd/51712/state = "4"`,
		`/local/domain/1/device/vif/0/tx-ring-ref = "[0-9]+"`,
		`/local/domain/1/device/vif/0/state = "4"`,
		`/local/domain/1/control/feature-poweroff = "1"`,
		`/local/domain/1/data/os_name = "Debian GNU/Linux 12 \(bookworm\)"`,
		`/local/domain/1/attr/vif/0/ipv4/0 = "10\.0\.1\.2"`,
		`/local/domain/1/memory/target = "65536"`,
		`/local/domain/1/store/port = "[0-9]+"`,
	} {
		assert.Regexp(t, regexp.MustCompile("(?m)^"+want+"$"), out)
	}
	perms := c.ok("xenstore-ls", "-p", "/local/domain/1/device/vbd")
	assert.Contains(t, perms, "(n1,r0)", "frontend nodes belong to the guest, readable by dom0")
}
