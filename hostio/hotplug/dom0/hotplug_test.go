package dom0_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hotplug/dom0"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// rig is a Hotplug on a fake OS against the simulated host's xenstored.
type rig struct {
	xs *xenstore.Client
	os *fakeOS
	hp *dom0.Hotplug
}

func newRig(t *testing.T, sw ovs.Switch) *rig {
	xs := simtest.Dom0(t, simtest.NewHost(t))
	f := newFakeOS()
	return &rig{xs: xs, os: f, hp: dom0.New(dom0.Config{Xenstore: xs, OS: f, Switch: sw,
		PollInterval: time.Millisecond})}
}

// backend writes d's backend keys.
func (r *rig) backend(t *testing.T, d hotplug.Device, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		require.NoError(t, r.xs.Write(context.Background(), d.BackendPath()+"/"+kv[i], []byte(kv[i+1])))
	}
}

// read returns a node's value, "" when it is missing.
func (r *rig) read(t *testing.T, path string) string {
	t.Helper()
	v, err := r.xs.Read(context.Background(), path)
	if errdefs.IsNotFound(err) {
		return ""
	}
	require.NoError(t, err)
	return string(v)
}

func vbd(devid int) hotplug.Device {
	return hotplug.Device{Class: hotplug.ClassVBD, Frontend: 7, DevID: devid}
}

func vif(devid int) hotplug.Device {
	return hotplug.Device{Class: hotplug.ClassVIF, Frontend: 7, DevID: devid}
}

func TestVBD_FileOnLoopDevice(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.os.files["/srv/disk.img"] = true
	d := vbd(51712)
	r.backend(t, d, "params", "/srv/disk.img", "mode", "w")

	require.NoError(t, r.hp.Add(ctx, d))
	be := d.BackendPath()
	require.Equal(t, "7:0", r.read(t, be+"/physical-device"), "major:minor in hex, as blkback parses it")
	require.Equal(t, "/dev/loop0", r.read(t, be+"/physical-device-path"))
	require.Equal(t, "/dev/loop0", r.read(t, be+"/node"))
	require.Equal(t, "connected", r.read(t, be+"/hotplug-status"))
	file, ro := r.os.backing(0)
	require.Equal(t, "/srv/disk.img", file)
	require.False(t, ro)

	// Again: the same loop device, no second attach.
	require.NoError(t, r.hp.Add(ctx, d))
	require.Equal(t, 1, r.os.attaches)
	require.Equal(t, "7:0", r.read(t, be+"/physical-device"))

	// The toolstack removes the backend tree before hotplug's remove.
	require.NoError(t, r.xs.Rm(ctx, be))
	require.NoError(t, r.hp.Remove(ctx, d))
	file, _ = r.os.backing(0)
	require.Empty(t, file, "the loop device is detached")
	require.Empty(t, r.read(t, d.PrivatePath()+"/"+dom0.PrivateLoopDevice))
	require.NoError(t, r.hp.Remove(ctx, d), "removing again is fine")
}

func TestVBD_ReadOnlyModeAttachesReadOnly(t *testing.T) {
	r := newRig(t, nil)
	r.os.files["/srv/ro.img"] = true
	r.os.files["/srv/other.img"] = true
	_, err := r.os.AttachLoop("/srv/other.img", false) // loop0 is someone else's
	require.NoError(t, err)
	d := vbd(51728)
	r.backend(t, d, "params", "/srv/ro.img", "mode", "r")

	require.NoError(t, r.hp.Add(context.Background(), d))
	require.Equal(t, "7:1", r.read(t, d.BackendPath()+"/physical-device"))
	file, ro := r.os.backing(1)
	require.Equal(t, "/srv/ro.img", file)
	require.True(t, ro)
}

func TestVBD_BlockDeviceIsUsedAsIs(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.os.blocks["/dev/vg/lv"] = [2]uint32{253, 17}
	d := vbd(51712)
	r.backend(t, d, "params", "/dev/vg/lv", "mode", "w")

	require.NoError(t, r.hp.Add(ctx, d))
	require.Equal(t, "fd:11", r.read(t, d.BackendPath()+"/physical-device"))
	require.Equal(t, "/dev/vg/lv", r.read(t, d.BackendPath()+"/physical-device-path"))
	require.Empty(t, r.read(t, d.BackendPath()+"/node"), "no loop device")
	require.Zero(t, r.os.attaches)
	require.NoError(t, r.hp.Remove(ctx, d))
}

func TestVBD_RemoveLeavesALoopDeviceReusedByAnotherFile(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.os.files["/srv/a.img"] = true
	r.os.files["/srv/b.img"] = true
	d := vbd(51712)
	r.backend(t, d, "params", "/srv/a.img", "mode", "w")
	require.NoError(t, r.hp.Add(ctx, d))
	// Detached behind hotplug's back, and taken for another file.
	require.NoError(t, r.os.DetachLoop("/dev/loop0"))
	dev, err := r.os.AttachLoop("/srv/b.img", false)
	require.NoError(t, err)
	require.Equal(t, "/dev/loop0", dev)

	require.NoError(t, r.hp.Remove(ctx, d))
	file, _ := r.os.backing(0)
	require.Equal(t, "/srv/b.img", file, "not this hotplug's loop device any more")
}

func TestVBD_Failures(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		params string
		want   string
	}{
		"no params":    {"", "no params"},
		"missing file": {"/srv/missing.img", "/srv/missing.img"},
	} {
		d := vbd(51712 + 16*len(tc.want))
		r.backend(t, d, "params", tc.params, "mode", "w")
		err := r.hp.Add(ctx, d)
		require.ErrorContains(t, err, tc.want, name)
		require.Contains(t, r.read(t, d.BackendPath()+"/hotplug-error"), tc.want, name)
		require.Empty(t, r.read(t, d.BackendPath()+"/hotplug-status"), name)
	}
}

func TestVIF_LinuxBridge(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.os.bridges["xenbr1"] = true
	d := vif(0)
	r.backend(t, d, "bridge", "xenbr1", "mac", "00:16:3e:00:00:01")

	done := make(chan error, 1)
	go func() { done <- r.hp.Add(ctx, d) }()
	// netback makes the interface in InitWait, after hotplug may start.
	r.os.addLink("vif7.0")
	require.NoError(t, <-done)
	up, master := r.os.link("vif7.0")
	require.True(t, up)
	require.Equal(t, "xenbr1", master)
	require.Equal(t, "connected", r.read(t, d.BackendPath()+"/hotplug-status"))

	require.NoError(t, r.hp.Add(ctx, d), "adding again is fine")
	require.NoError(t, r.hp.Remove(ctx, d))
	_, master = r.os.link("vif7.0")
	require.Empty(t, master)
	require.Empty(t, r.read(t, d.BackendPath()+"/hotplug-status"))
}

func TestVIF_DefaultBridge(t *testing.T) {
	r := newRig(t, nil)
	r.os.bridges[hotplug.DefaultBridge] = true
	r.os.addLink("vif7.2")
	d := vif(2)
	r.backend(t, d, "mac", "00:16:3e:00:00:02")
	require.NoError(t, r.hp.Add(context.Background(), d))
	_, master := r.os.link("vif7.2")
	require.Equal(t, hotplug.DefaultBridge, master)
}

func TestVIF_OpenVSwitchPort(t *testing.T) {
	sw := ovs.NewSim()
	r := newRig(t, sw)
	ctx := context.Background()
	require.NoError(t, sw.AddBridge(ctx, "xapi1"))
	r.os.addLink("vif7.1")
	d := vif(1)
	r.backend(t, d, "bridge", "xapi1", "mac", "00:16:3e:00:07:01")
	require.NoError(t, r.xs.Write(ctx, "/local/domain/7/vm", []byte("/vm/0b5c1c8e-3e0f-4c4e-9d53-6f0d54c1c0aa")))
	require.NoError(t, r.xs.Write(ctx, d.PrivatePath()+"/"+xenbus.PrivateVIFUUID, []byte("vif-uuid-1")))

	require.NoError(t, r.hp.Add(ctx, d))
	ports, err := sw.ListPorts(ctx, "xapi1")
	require.NoError(t, err)
	require.Equal(t, []string{"vif7.1"}, ports)
	ids, err := sw.PortExternalIDs(ctx, "vif7.1")
	require.NoError(t, err)
	require.Equal(t, map[string]string{ovs.KeyVMUUID: "0b5c1c8e-3e0f-4c4e-9d53-6f0d54c1c0aa",
		ovs.KeyAttachedMAC: "00:16:3e:00:07:01", ovs.KeyVIFUUID: "vif-uuid-1", ovs.KeyIfaceID: "vif-uuid-1"}, ids)
	up, _ := r.os.link("vif7.1")
	require.True(t, up)

	require.NoError(t, r.hp.Remove(ctx, d))
	ports, err = sw.ListPorts(ctx, "xapi1")
	require.NoError(t, err)
	require.Empty(t, ports)
}

func TestVIF_Failures(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()

	d := vif(0)
	r.backend(t, d, "bridge", "xenbr0")
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := r.hp.Add(tctx, d)
	cancel()
	require.True(t, errdefs.IsTimeout(err), "%v", err)
	require.Contains(t, r.read(t, d.BackendPath()+"/hotplug-error"), "vif7.0 did not appear")

	d = vif(1)
	r.os.addLink("vif7.1")
	r.backend(t, d, "bridge", "nosuchbr")
	err = r.hp.Add(ctx, d)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	msg := r.read(t, d.BackendPath()+"/hotplug-error")
	require.True(t, strings.Contains(msg, "nosuchbr"), msg)
	require.Empty(t, r.read(t, d.BackendPath()+"/hotplug-status"))
}
