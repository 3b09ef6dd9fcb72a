package xenbus_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// TestWriteTrees_WhatLinuxDriversRead checks the trees against the keys
// libxl writes, which xen-blkback, xen-netback, blkfront and netfront read.
func TestWriteTrees_WhatLinuxDriversRead(t *testing.T) {
	xs := simtest.Dom0(t, simtest.NewHost(t))
	ctx := context.Background()
	disk := xenbus.Device{Class: xenbus.ClassVBD, Frontend: 5, DevID: 51712}
	nic := xenbus.Device{Class: xenbus.ClassVIF, Frontend: 5, DevID: 0}
	require.NoError(t, xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := xenbus.WriteTrees(ctx, tx, disk, xenbus.Backing{Params: "/srv/d.img"}); err != nil {
			return err
		}
		return xenbus.WriteTrees(ctx, tx, nic, xenbus.Backing{MAC: "00:16:3e:01:02:03", Bridge: "xenbr0"})
	}))

	// (The states are left out: the simulated host's backends move on.)
	check := func(dir string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			got, err := xs.Read(ctx, dir+"/"+k)
			require.NoError(t, err, dir+"/"+k)
			require.Equal(t, v, string(got), dir+"/"+k)
		}
	}
	check(disk.BackendPath(), map[string]string{"frontend": disk.FrontendPath(), "frontend-id": "5",
		"online": "1", "removable": "0", "bootable": "1", "dev": "xvda", "type": "phy", "mode": "w",
		"device-type": "disk", "discard-enable": "0", "params": "/srv/d.img"})
	check(disk.FrontendPath(), map[string]string{"backend": disk.BackendPath(), "backend-id": "0", "state": "1",
		"virtual-device": "51712", "device-type": "disk", "trusted": "1"})
	check(nic.BackendPath(), map[string]string{"frontend": nic.FrontendPath(), "frontend-id": "5", "online": "1",
		"script": "vif", "mac": "00:16:3e:01:02:03", "bridge": "xenbr0", "handle": "0", "type": "vif"})
	check(nic.FrontendPath(), map[string]string{"backend": nic.BackendPath(), "backend-id": "0", "state": "1",
		"handle": "0", "mac": "00:16:3e:01:02:03", "trusted": "1"})

	// The backends are dom0's and readable by the guest; the frontends the
	// guest's and readable by dom0.
	for _, d := range []xenbus.Device{disk, nic} {
		perms, err := xs.GetPerms(ctx, d.BackendPath())
		require.NoError(t, err)
		require.Equal(t, []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: 5, Access: xenstore.AccessRead}},
			perms)
		perms, err = xs.GetPerms(ctx, d.FrontendPath())
		require.NoError(t, err)
		require.Equal(t, []xenstore.Perm{{Domid: 5, Access: xenstore.AccessNone}, {Domid: 0, Access: xenstore.AccessRead}},
			perms)
	}
}
