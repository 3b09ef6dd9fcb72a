package vm

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The task kinds of the memory and vCPU operations.
const (
	kindSetMemoryTarget = "VM.set_memory_target"
	kindSetVCPUs        = "VM.set_vcpus"
)

// setMemoryTarget sets the balloon target: hypervisor and memory/target,
// once the guest published control/feature-balloon.
func (r *runner) setMemoryTarget(ctx context.Context, msg *SetMemoryTarget) *opDone {
	uuid := r.cfg.Spec.UUID
	if err := r.needDomain("set memory target"); err != nil {
		return &opDone{err: err}
	}
	if msg.KiB == 0 || msg.KiB > r.cfg.Spec.MemoryKiB {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: memory target %d KiB is not within (0, %d]: %w",
			uuid, msg.KiB, r.cfg.Spec.MemoryKiB, errdefs.ErrInvalid)}
	}
	home := homePath(r.domid)
	if readString(ctx, r.cfg.Xenstore, home+"/control/feature-balloon") != "1" {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: set memory target: guest has no balloon driver: %w",
			uuid, errdefs.ErrNotImplemented)}
	}
	if err := r.cfg.Hypervisor.SetMemoryTarget(ctx, r.domid, msg.KiB); err != nil {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: set the memory target of domain %d: %w", uuid,
			r.domid, err)}
	}
	if err := r.cfg.Xenstore.Write(ctx, home+"/memory/target", []byte(strconv.FormatUint(msg.KiB, 10))); err != nil {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: write memory/target: %w", uuid, err)}
	}
	return &opDone{hasDomain: true}
}

// setVCPUs brings N vCPUs online and the others offline, as xenopsd does:
// cpu/<n>/availability is online or offline.
func (r *runner) setVCPUs(ctx context.Context, msg *SetVCPUs) *opDone {
	uuid := r.cfg.Spec.UUID
	if err := r.needDomain("set vCPUs"); err != nil {
		return &opDone{err: err}
	}
	if msg.N < 1 || msg.N > r.cfg.Spec.VCPUs {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: %d vCPUs is not within [1, %d]: %w", uuid, msg.N,
			r.cfg.Spec.VCPUs, errdefs.ErrInvalid)}
	}
	err := r.cfg.Xenstore.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return writeVCPUs(ctx, tx, r.domid, r.cfg.Spec.VCPUs, msg.N)
	})
	if err != nil {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: write vCPU availability: %w", uuid, err)}
	}
	return &opDone{hasDomain: true}
}

// writeVCPUs writes cpu/<i>/availability for the maxVCPUs, online for
// the first online.
func writeVCPUs(ctx context.Context, tx *xenstore.Tx, domid hypervisor.DomID, maxVCPUs, online int) error {
	for i := range maxVCPUs {
		v := "offline"
		if i < online {
			v = "online"
		}
		if err := tx.Write(ctx, homePath(domid)+"/cpu/"+strconv.Itoa(i)+"/availability", []byte(v)); err != nil {
			return err
		}
	}
	return nil
}
