package dom0

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The keys the hotplug step writes besides hotplug-status and
// hotplug-error: in the backend physical-device ("<major>:<minor>" in hex),
// physical-device-path (the block device) and node (the loop device it
// attached, as Xen's block script does); in the device's private directory
// PrivateLoopDevice and PrivateLoopFile (the loop device and the file it
// was attached to), which Remove reads after the backend tree is gone.
const (
	KeyPhysicalDevice     = "physical-device"
	KeyPhysicalDevicePath = "physical-device-path"
	KeyNode               = "node"
	PrivateLoopDevice     = "loop-device"
	PrivateLoopFile       = "loop-file"
)

// DefaultPollInterval is how often Add looks for netback's interface.
const DefaultPollInterval = 50 * time.Millisecond

// Config is what a Hotplug runs with.
type Config struct {
	// Xenstore is a dom0 (privileged) connection to the host's xenstored.
	Xenstore *xenstore.Client
	// OS does the host's side; nil is Linux{}.
	OS OS
	// Switch, if set, is the host's Open vSwitch: a VIF whose bridge is
	// not a Linux bridge becomes a port of it. nil: Linux bridges only.
	Switch ovs.Switch
	// PollInterval is how often Add looks for netback's interface; 0 is
	// DefaultPollInterval.
	PollInterval time.Duration
	// Logger, if set, receives what hotplug does; nil discards it.
	Logger *slog.Logger
}

// Hotplug is the hotplug step of a Linux dom0 (the package comment says
// what it does). It is safe for concurrent use on different devices.
type Hotplug struct {
	cfg Config
}

var _ hotplug.Hotplug = (*Hotplug)(nil)

// New returns the Hotplug of cfg.
func New(cfg Config) *Hotplug {
	if cfg.OS == nil {
		cfg.OS = Linux{}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hotplug{cfg: cfg}
}

// Add runs "add" for d, once its backend tree is written (for a VIF, once
// netback is in InitWait): it ends with hotplug-status=connected, or
// writes hotplug-error and returns the error. Adding a device again is
// fine: a loop device it attached for the same file is kept.
func (h *Hotplug) Add(ctx context.Context, d hotplug.Device) error {
	var err error
	switch d.Class {
	case hotplug.ClassVBD:
		err = h.addVBD(ctx, d)
	case hotplug.ClassVIF:
		err = h.addVIF(ctx, d)
	default:
		return fmt.Errorf("dom0: hotplug add %s: class %q: %w", d.BackendPath(), d.Class, errdefs.ErrInvalid)
	}
	be := d.BackendPath()
	if err != nil {
		// The wait may have used ctx up: the error is still written.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if werr := h.cfg.Xenstore.Write(wctx, be+"/hotplug-error", []byte(err.Error())); werr != nil {
			h.cfg.Logger.Warn("hotplug: writing hotplug-error", "backend", be, "err", werr)
		}
		return fmt.Errorf("dom0: hotplug add %s: %w", be, err)
	}
	h.cfg.Logger.Debug("hotplug: added", "backend", be)
	return h.cfg.Xenstore.Write(ctx, be+"/hotplug-status", []byte("connected"))
}

// addVBD publishes physical-device for the backend's params: a block
// device's own number, or that of a loop device the file is attached to.
func (h *Hotplug) addVBD(ctx context.Context, d hotplug.Device) error {
	xs, be := h.cfg.Xenstore, d.BackendPath()
	params := strings.TrimSpace(h.read(ctx, be+"/params"))
	if params == "" {
		return errors.New("no params for the block device")
	}
	readOnly := strings.HasPrefix(h.read(ctx, be+"/mode"), "r")
	major, minor, block, err := h.cfg.OS.Device(params)
	if err != nil {
		return err
	}
	dev, loop := params, ""
	if !block {
		if loop, err = h.loopFor(ctx, d, params, readOnly); err != nil {
			return err
		}
		dev = loop
		if major, minor, _, err = h.cfg.OS.Device(loop); err != nil {
			return err
		}
	}
	keys := [][2]string{{KeyPhysicalDevice, fmt.Sprintf("%x:%x", major, minor)}, {KeyPhysicalDevicePath, dev}}
	if loop != "" {
		keys = append(keys, [2]string{KeyNode, loop})
	}
	return xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return tx.WriteKeys(ctx, be, keys)
	})
}

// loopFor returns the loop device of file for d: the one recorded in d's
// private directory if it is still attached to file, else a new one,
// recorded there before it is returned.
func (h *Hotplug) loopFor(ctx context.Context, d hotplug.Device, file string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	priv := d.PrivatePath()
	if dev := h.read(ctx, priv+"/"+PrivateLoopDevice); dev != "" && h.read(ctx, priv+"/"+PrivateLoopFile) == abs {
		if backing, err := h.cfg.OS.LoopBacking(dev); err == nil && backing == abs {
			return dev, nil
		}
	}
	dev, err := h.cfg.OS.AttachLoop(abs, readOnly)
	if err != nil {
		return "", err
	}
	err = h.cfg.Xenstore.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return tx.WriteKeys(ctx, priv, [][2]string{{PrivateLoopDevice, dev}, {PrivateLoopFile, abs}})
	})
	if err != nil {
		_ = h.cfg.OS.DetachLoop(dev)
		return "", err
	}
	h.cfg.Logger.Info("hotplug: loop device attached", "backend", d.BackendPath(), "file", abs, "device", dev)
	return dev, nil
}

// addVIF waits for netback's interface, sets it up and attaches it to the
// backend's bridge.
func (h *Hotplug) addVIF(ctx context.Context, d hotplug.Device) error {
	name := hotplug.VIFName(d)
	if err := h.waitLink(ctx, name); err != nil {
		return err
	}
	bridge := h.read(ctx, d.BackendPath()+"/bridge")
	if bridge == "" {
		bridge = hotplug.DefaultBridge
	}
	if err := h.cfg.OS.LinkUp(name); err != nil {
		return err
	}
	if h.cfg.OS.IsBridge(bridge) {
		return h.cfg.OS.SetMaster(name, bridge)
	}
	if h.cfg.Switch == nil {
		return fmt.Errorf("bridge %s: no such Linux bridge and no Open vSwitch: %w", bridge, errdefs.ErrNotFound)
	}
	ids := hotplug.VIFExternalIDs(ctx, h.cfg.Xenstore.Handle, d)
	if err := h.cfg.Switch.AddPort(ctx, bridge, name, ids); err != nil {
		return fmt.Errorf("bridge %s: %w", bridge, err)
	}
	return nil
}

// waitLink waits until the interface name exists.
func (h *Hotplug) waitLink(ctx context.Context, name string) error {
	t := time.NewTicker(h.cfg.PollInterval)
	defer t.Stop()
	for !h.cfg.OS.LinkExists(name) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("interface %s did not appear: %w", name, errdefs.ErrTimeout)
		case <-t.C:
		}
	}
	return nil
}

// Remove runs "remove" for d, after its backend tree is gone: it detaches
// a VIF's interface from its bridge (deleting its switch port) and the
// loop device Add attached for a VBD, if it is still attached to a file,
// and clears the hotplug status. Removing a device again is fine.
func (h *Hotplug) Remove(ctx context.Context, d hotplug.Device) error {
	var errs []error
	switch d.Class {
	case hotplug.ClassVBD:
		errs = append(errs, h.removeVBD(ctx, d))
	case hotplug.ClassVIF:
		name := hotplug.VIFName(d)
		if h.cfg.OS.LinkExists(name) {
			errs = append(errs, h.cfg.OS.ClearMaster(name))
		}
		if h.cfg.Switch != nil {
			if err := h.cfg.Switch.DelPort(ctx, name); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if err := h.cfg.Xenstore.Rm(ctx, d.BackendPath()+"/hotplug-status"); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dom0: hotplug remove %s: %w", d.BackendPath(), err)
	}
	return nil
}

// removeVBD detaches the loop device recorded in d's private directory,
// if it is still attached to the recorded file, and forgets it.
func (h *Hotplug) removeVBD(ctx context.Context, d hotplug.Device) error {
	priv := d.PrivatePath()
	dev, file := h.read(ctx, priv+"/"+PrivateLoopDevice), h.read(ctx, priv+"/"+PrivateLoopFile)
	if dev == "" {
		return nil
	}
	backing, err := h.cfg.OS.LoopBacking(dev)
	if err != nil {
		return err
	}
	if backing != "" && backing == file {
		if err := h.cfg.OS.DetachLoop(dev); err != nil {
			return err
		}
		h.cfg.Logger.Info("hotplug: loop device detached", "backend", d.BackendPath(), "file", backing,
			"device", dev)
	}
	for _, k := range []string{PrivateLoopDevice, PrivateLoopFile} {
		if err := h.cfg.Xenstore.Rm(ctx, priv+"/"+k); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// read reads a node as a string; missing is "".
func (h *Hotplug) read(ctx context.Context, path string) string {
	v, err := h.cfg.Xenstore.Read(ctx, path)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(v), "\x00")
}
