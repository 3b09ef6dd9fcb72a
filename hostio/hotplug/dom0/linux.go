//go:build linux

package dom0

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Linux is the OS of a Linux dom0: loop devices through /dev/loop-control
// and the loop ioctls, interfaces and bridge ports through ioctls on a
// socket, and sysfs (/sys/class/net, /sys/block) to look at them.
type Linux struct{}

var _ OS = Linux{}

// LoopControl is the loop devices' control node.
const LoopControl = "/dev/loop-control"

// loopMajor is the loop devices' block major.
const loopMajor = 7

// Device implements OS.
func (Linux) Device(path string) (uint32, uint32, bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, 0, false, fmt.Errorf("dom0: %s: %w", path, errdefs.ErrNotFound)
		}
		return 0, 0, false, fmt.Errorf("dom0: %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, 0, false, nil
	}
	return unix.Major(st.Rdev), unix.Minor(st.Rdev), true, nil
}

// AttachLoop implements OS: LOOP_CTL_GET_FREE, then LOOP_CONFIGURE (or
// LOOP_SET_FD and LOOP_SET_STATUS64 on kernels before 5.8), trying again
// when another process took the device first. A device node missing from
// /dev (a container's) is made.
func (Linux) AttachLoop(path string, readOnly bool) (string, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	file, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return "", fmt.Errorf("dom0: attach %s: %w", path, err)
	}
	defer file.Close()
	ctl, err := os.OpenFile(LoopControl, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("dom0: attach %s: %v: %w", path, err, errdefs.ErrUnavailable)
	}
	defer ctl.Close()
	for range 16 {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("dom0: attach %s: LOOP_CTL_GET_FREE: %w", path, err)
		}
		dev := "/dev/loop" + strconv.Itoa(n)
		err = configureLoop(dev, n, file, path, readOnly)
		if errors.Is(err, unix.EBUSY) {
			continue // taken since GET_FREE
		}
		if err != nil {
			return "", fmt.Errorf("dom0: attach %s to %s: %w", path, dev, err)
		}
		return dev, nil
	}
	return "", fmt.Errorf("dom0: attach %s: no free loop device: %w", path, errdefs.ErrUnavailable)
}

func configureLoop(dev string, n int, file *os.File, path string, readOnly bool) error {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	lf, err := os.OpenFile(dev, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		if err := unix.Mknod(dev, unix.S_IFBLK|0o660, int(unix.Mkdev(loopMajor, uint32(n)))); err != nil &&
			!errors.Is(err, unix.EEXIST) {
			return err
		}
		lf, err = os.OpenFile(dev, flag, 0)
	}
	if err != nil {
		return err
	}
	defer lf.Close()
	var info unix.LoopInfo64
	if readOnly {
		info.Flags = unix.LO_FLAGS_READ_ONLY
	}
	copy(info.File_name[:unix.LO_NAME_SIZE-1], path)
	cfg := unix.LoopConfig{Fd: uint32(file.Fd()), Info: info}
	err = unix.IoctlLoopConfigure(int(lf.Fd()), &cfg)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
		return err
	}
	// Before LOOP_CONFIGURE (Linux 5.8).
	if err := unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_SET_FD, int(file.Fd())); err != nil {
		return err
	}
	if err := unix.IoctlLoopSetStatus64(int(lf.Fd()), &info); err != nil {
		_ = unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_CLR_FD, 0)
		return err
	}
	return nil
}

// LoopBacking implements OS from /sys/block/loopN/loop/backing_file,
// which exists while the device is attached.
func (Linux) LoopBacking(dev string) (string, error) {
	name := filepath.Base(dev)
	if !strings.HasPrefix(name, "loop") {
		return "", fmt.Errorf("dom0: %s is not a loop device: %w", dev, errdefs.ErrInvalid)
	}
	b, err := os.ReadFile(filepath.Join("/sys/block", name, "loop", "backing_file"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dom0: %s: %w", dev, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// DetachLoop implements OS with LOOP_CLR_FD; a free device is fine.
func (Linux) DetachLoop(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("dom0: detach %s: %w", dev, err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0); err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("dom0: detach %s: %w", dev, err)
	}
	return nil
}

// LinkExists implements OS from /sys/class/net.
func (Linux) LinkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// IsBridge implements OS: a Linux bridge has /sys/class/net/<name>/bridge.
func (Linux) IsBridge(name string) bool {
	fi, err := os.Stat(filepath.Join("/sys/class/net", name, "bridge"))
	return err == nil && fi.IsDir()
}

// LinkUp implements OS with SIOCGIFFLAGS and SIOCSIFFLAGS.
func (Linux) LinkUp(name string) error {
	return withSocket(func(fd int) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return fmt.Errorf("dom0: link %s: %w", name, errdefs.ErrInvalid)
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return linkError("up", name, err)
		}
		flags := ifr.Uint16()
		if flags&unix.IFF_UP != 0 {
			return nil
		}
		ifr.SetUint16(flags | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return linkError("up", name, err)
		}
		return nil
	})
}

// SetMaster implements OS with SIOCBRADDIF, unless the interface's master
// is the bridge already.
func (l Linux) SetMaster(link, bridge string) error {
	if master(link) == bridge {
		return nil
	}
	if cur := master(link); cur != "" {
		if err := l.ClearMaster(link); err != nil {
			return err
		}
	}
	return bridgeIoctl(unix.SIOCBRADDIF, link, bridge)
}

// ClearMaster implements OS with SIOCBRDELIF on the interface's master.
func (Linux) ClearMaster(link string) error {
	br := master(link)
	if br == "" {
		return nil
	}
	return detach(link, br)
}

// detach removes link from the bridge br with SIOCBRDELIF. A link that is
// not (or no longer) a port of br is fine: a bridge drops the port of an
// interface that goes away on its own (netback's vif of a destroyed
// domain), so between reading the master and the ioctl the port may be
// gone, and the kernel then answers EINVAL.
func detach(link, br string) error {
	err := bridgeIoctl(unix.SIOCBRDELIF, link, br)
	if errdefs.IsNotFound(err) || errors.Is(err, unix.EINVAL) {
		return nil
	}
	return err
}

// master returns the name of the interface's master (its bridge); "" when
// it has none.
func master(link string) string {
	dst, err := os.Readlink(filepath.Join("/sys/class/net", link, "master"))
	if err != nil {
		return ""
	}
	return filepath.Base(dst)
}

func bridgeIoctl(req uint, link, bridge string) error {
	iface, err := net.InterfaceByName(link)
	if err != nil {
		return fmt.Errorf("dom0: link %s: %v: %w", link, err, errdefs.ErrNotFound)
	}
	return withSocket(func(fd int) error {
		ifr, err := unix.NewIfreq(bridge)
		if err != nil {
			return fmt.Errorf("dom0: bridge %s: %w", bridge, errdefs.ErrInvalid)
		}
		ifr.SetUint32(uint32(iface.Index))
		if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
			what := "attach to " + bridge
			if req == unix.SIOCBRDELIF {
				what = "detach from " + bridge
			}
			return linkError(what, link, err)
		}
		return nil
	})
}

func linkError(what, name string, err error) error {
	switch {
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return fmt.Errorf("dom0: link %s: %s: %v: %w", name, what, err, errdefs.ErrNotFound)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("dom0: link %s: %s: %v: %w", name, what, err, errdefs.ErrPermission)
	}
	return fmt.Errorf("dom0: link %s: %s: %w", name, what, err)
}

func withSocket(f func(fd int) error) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("dom0: socket: %w", err)
	}
	defer unix.Close(fd)
	return f(fd)
}
