package vm

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// statTimeout bounds the reads behind one StatVM.
const statTimeout = 5 * time.Second

// handleStat answers StatVM from a goroutine that reads the domain's state
// and its devices' XenBus states, so the mailbox never waits on them.
func (a *vmActor) handleStat(ctx actor.Context) {
	sender := ctx.Sender()
	if sender == nil {
		return
	}
	root := ctx.ActorSystem().Root
	// A copy: a hot-plug replaces the spec's device lists.
	cfgCopy := a.cfg
	cfg, domid, has := &cfgCopy, a.st.domid, a.st.hasDomain
	lastErr, loop, image := a.st.lastErr, a.st.crashLoop, a.st.suspendImage
	var faults []DaemonFault
	if a.cfg.DaemonFaults != nil {
		faults = a.cfg.DaemonFaults(a.cfg.Spec)
	}
	var metrics *guest.GuestMetrics
	if m := a.st.guestMetrics; m != nil && has {
		c := m.Clone()
		metrics = &c
	}
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), statTimeout)
		defer cancel()
		st := readStatus(rctx, cfg, domid, has)
		st.LastError, st.CrashLoop, st.Guest, st.DaemonFaults = lastErr, loop, metrics, faults
		if !has && image != "" {
			st.PowerState, st.SuspendImage = Suspended, image
		}
		st.PCIs, st.VGPUs, st.VUSBs = slices.Clone(cfg.Spec.PCIs), slices.Clone(cfg.Spec.VGPUs),
			slices.Clone(cfg.Spec.VUSBs)
		root.Send(sender, st)
	}()
}

// readStatus reads the status of the VM whose domain, if has, is domid.
func readStatus(ctx context.Context, cfg *Config, domid hypervisor.DomID, has bool) *VMStatus {
	st := &VMStatus{UUID: cfg.Spec.UUID, PowerState: Halted}
	if !has {
		return st
	}
	st.DomID = domid
	info, err := cfg.Hypervisor.DomainInfo(ctx, domid)
	switch {
	case errdefs.IsNotFound(err):
		return st
	case err != nil:
		st.Err = fmt.Errorf("vm %s: domain %d: %w", cfg.Spec.UUID, domid, err)
		return st
	}
	st.PowerState = powerState(info)
	for _, d := range devices(cfg.Spec, domid) {
		st.Devices = append(st.Devices, DeviceStatus{Class: d.Class, DevID: d.DevID,
			BackendState:  readState(ctx, cfg.Xenstore, d.BackendPath()+"/state"),
			FrontendState: readState(ctx, cfg.Xenstore, d.FrontendPath()+"/state")})
	}
	return st
}
