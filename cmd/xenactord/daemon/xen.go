package daemon

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/hotplug/dom0"
	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// XenconsoledDir is where, under the run directory, the Xen host's
// xenconsoled has its pid file and log; the guests' console logs go to
// <run-dir>/console (ConsoleDir) as guest-<name>.log.
const XenconsoledDir = "xenconsoled"

// xen drives the real Xen host the daemon runs in the control domain of:
// its C xenstored on cfg.Xenstored (DefaultXenstored when ""), the Xen
// backend, the dom0 hotplug step (with the host's Open vSwitch when
// ovs-vsctl is installed) and xenconsoled under a daemon actor.
func (d *Daemon) xen(ctx context.Context, cfg Config) (backend, error) {
	xsPath := cfg.Xenstored
	if xsPath == "" {
		xsPath = DefaultXenstored
	}
	dial := func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, xsPath) }
	// The hotplug step's connection, dialled first: a missing xenstored
	// fails here with a clear error.
	hpxs, err := dial(ctx)
	if err != nil {
		return backend{}, fmt.Errorf("daemon: the Xen host's xenstored: %w", err)
	}
	d.closers = append(d.closers, hpxs.Close)
	d.xsPath = xsPath
	hv, err := xen.Open(xen.Config{Xenstore: dial, Logger: d.log})
	if err != nil {
		return backend{}, fmt.Errorf("daemon: the Xen hypervisor: %w", err)
	}
	d.closers = append(d.closers, hv.Close)
	hc := dom0.Config{Xenstore: hpxs, Logger: d.log}
	if p, err := exec.LookPath("ovs-vsctl"); err == nil {
		hc.Switch = ovs.NewVsctl(ovs.VsctlConfig{Program: p})
	}
	if err := d.startXenconsoled(ctx, cfg, xsPath); err != nil {
		return backend{}, err
	}
	memory := func(ctx context.Context) (uint64, uint64, error) {
		info, err := hv.HostInfo(ctx)
		if err != nil {
			return 0, 0, err
		}
		return info.TotalKiB, info.FreeKiB, nil
	}
	return backend{hv: hv, hp: dom0.New(hc), dial: dial, memory: memory}, nil
}

// startXenconsoled runs xenconsoled under a daemon actor
// ("daemon/xenconsoled"), logging the guests' consoles in
// <run-dir>/console, its pid file and log in <run-dir>/xenconsoled; a
// running one (left by the previous daemon) is adopted. Stop detaches
// from it: it outlives the daemon, as the domains do.
func (d *Daemon) startXenconsoled(ctx context.Context, cfg Config, xsPath string) error {
	runDir, err := filepath.Abs(filepath.Join(cfg.RunDir, XenconsoledDir))
	if err != nil {
		return err
	}
	m, err := process.NewManager(runDir)
	if err != nil {
		return fmt.Errorf("daemon: xenconsoled: %w", err)
	}
	xc := daemons.XenconsoledConfig{Program: cfg.Xenconsoled, LogDir: filepath.Join(cfg.RunDir, ConsoleDir)}
	if xsPath != DefaultXenstored {
		xc.Xenstored = xsPath
	}
	dc, err := daemons.Xenconsoled(m, xc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	dc.Notify = d.daemonChanged
	c, err := daemons.Start(ctx, d.system, "daemon/"+daemons.DefaultXenconsoledName, dc)
	if err != nil {
		return fmt.Errorf("daemon: xenconsoled: %w", err)
	}
	d.daemons = append(d.daemons, c)
	d.xenconsoled = c.PID()
	return nil
}
