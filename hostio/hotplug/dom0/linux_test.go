//go:build linux

package dom0_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hotplug/dom0"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
)

// requireLoop skips unless loop devices can be attached here.
func requireLoop(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(dom0.LoopControl, os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no loop devices here: %v", err)
	}
	_ = f.Close()
}

func TestLinux_LoopDevice(t *testing.T) {
	requireLoop(t)
	var l dom0.Linux
	img := filepath.Join(t.TempDir(), "disk.img")
	require.NoError(t, os.WriteFile(img, make([]byte, 1<<20), 0o600))

	_, _, block, err := l.Device(img)
	require.NoError(t, err)
	require.False(t, block, "a file is no block device")

	for _, readOnly := range []bool{false, true} {
		dev, err := l.AttachLoop(img, readOnly)
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("loop devices cannot be attached here: %v", err)
		}
		require.NoError(t, err)
		detached := false
		t.Cleanup(func() {
			if !detached {
				_ = l.DetachLoop(dev)
			}
		})
		major, _, block, err := l.Device(dev)
		require.NoError(t, err)
		require.True(t, block)
		require.EqualValues(t, 7, major)
		backing, err := l.LoopBacking(dev)
		require.NoError(t, err)
		require.Equal(t, img, backing)
		if readOnly {
			f, err := os.OpenFile(dev, os.O_WRONLY, 0)
			if err == nil {
				_, err = f.Write(make([]byte, 512))
				_ = f.Close()
			}
			require.Error(t, err, "a read-only loop device takes no writes")
		}

		require.NoError(t, l.DetachLoop(dev))
		detached = true
		require.Eventually(t, func() bool {
			b, err := l.LoopBacking(dev)
			return err == nil && b == ""
		}, 10*time.Second, 10*time.Millisecond)
	}
}

// requireNetAdmin skips unless interfaces can be made here (CAP_NET_ADMIN
// and ip).
func requireNetAdmin(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip (iproute2) here")
	}
	if out, err := exec.Command("ip", "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
		t.Skipf("cannot make a bridge here (CAP_NET_ADMIN?): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", name).Run() })
}

func TestLinux_LinkOnBridge(t *testing.T) {
	id := os.Getpid() % 100000
	br, a, b := fmt.Sprintf("xhb%d", id), fmt.Sprintf("xha%d", id), fmt.Sprintf("xhp%d", id)
	requireNetAdmin(t, br)
	out, err := exec.Command("ip", "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput()
	if err != nil {
		t.Skipf("cannot make a veth pair here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", a).Run() })
	var l dom0.Linux

	require.True(t, l.LinkExists(a))
	require.False(t, l.LinkExists("xhnosuch0"))
	require.True(t, l.IsBridge(br))
	require.False(t, l.IsBridge(a))

	require.NoError(t, l.LinkUp(a))
	flags, err := os.ReadFile(filepath.Join("/sys/class/net", a, "flags"))
	require.NoError(t, err)
	var f uint32
	_, err = fmt.Sscanf(string(flags), "0x%x", &f)
	require.NoError(t, err)
	require.NotZero(t, f&1, "IFF_UP")

	require.NoError(t, l.SetMaster(a, br))
	require.NoError(t, l.SetMaster(a, br), "attached already is fine")
	require.Equal(t, br, master(t, a))
	require.NoError(t, l.ClearMaster(a))
	require.Empty(t, master(t, a))
	require.NoError(t, l.ClearMaster(a), "detached already is fine")
	// The port gone between reading the master and the ioctl (the bridge
	// dropped the interface of a destroyed domain on its own): EINVAL.
	require.NoError(t, dom0.Detach(a, br), "a link that is no port of the bridge is fine")
	require.NoError(t, l.ClearMaster("xhnosuch0"), "a missing interface is fine")
	require.Error(t, l.LinkUp("xhnosuch0"))
}

func master(t *testing.T, link string) string {
	t.Helper()
	dst, err := os.Readlink(filepath.Join("/sys/class/net", link, "master"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	require.NoError(t, err)
	return filepath.Base(dst)
}

func TestLinux_HotplugVBDOnRealLoopDevice(t *testing.T) {
	requireLoop(t)
	xs := simtest.Dom0(t, simtest.NewHost(t))
	hp := dom0.New(dom0.Config{Xenstore: xs})
	ctx := context.Background()
	img := filepath.Join(t.TempDir(), "disk.img")
	require.NoError(t, os.WriteFile(img, make([]byte, 1<<20), 0o600))
	d := hotplug.Device{Class: hotplug.ClassVBD, Frontend: 9, DevID: 51712}
	be := d.BackendPath()
	require.NoError(t, xs.Write(ctx, be+"/params", []byte(img)))
	require.NoError(t, xs.Write(ctx, be+"/mode", []byte("w")))

	err := hp.Add(ctx, d)
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("loop devices cannot be attached here: %v", err)
	}
	require.NoError(t, err)
	dev, err := xs.Read(ctx, be+"/node")
	require.NoError(t, err)
	t.Cleanup(func() { _ = dom0.Linux{}.DetachLoop(string(dev)) })
	var l dom0.Linux
	major, minor, _, err := l.Device(string(dev))
	require.NoError(t, err)
	pd, err := xs.Read(ctx, be+"/physical-device")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%x:%x", major, minor), string(pd))
	backing, err := l.LoopBacking(string(dev))
	require.NoError(t, err)
	require.Equal(t, img, backing)

	require.NoError(t, xs.Rm(ctx, be))
	require.NoError(t, hp.Remove(ctx, d))
	require.Eventually(t, func() bool {
		b, err := l.LoopBacking(string(dev))
		return err == nil && b == ""
	}, 10*time.Second, 10*time.Millisecond, "the loop device is detached")
}
