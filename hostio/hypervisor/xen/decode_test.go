package xen

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestDecodeInfo(t *testing.T) {
	handle := [16]byte{0xde, 0xad, 15: 1}
	base := rawInfo{domid: 7, handle: handle, totPages: 256, maxPages: 512 + maxmemSlackKiB/4, cpuTime: 1500,
		maxVCPUID: 1}
	for name, tc := range map[string]struct {
		flags, emu uint32
		want       func(*hypervisor.DomainInfo)
	}{
		"paused pv": {dominfPaused | dominfBlocked, 0, func(i *hypervisor.DomainInfo) { i.Paused = true }},
		"blocked":   {dominfBlocked, 0, func(i *hypervisor.DomainInfo) { i.Blocked = true }},
		"running":   {dominfRunning, 0, func(i *hypervisor.DomainInfo) { i.Running = true }},
		"runnable":  {0, 0, func(i *hypervisor.DomainInfo) { i.Running = true }},
		"shut down for reboot": {dominfShutdown | 1<<dominfShutdownShift | dominfBlocked, 0,
			func(i *hypervisor.DomainInfo) { i.Shutdown, i.ShutdownReason = true, hypervisor.ShutdownReboot }},
		"dying": {dominfDying | dominfPaused, 0, func(i *hypervisor.DomainInfo) { i.Dying, i.Paused = true, true }},
		"pvh without its special pages": {dominfHVM | dominfPaused, emuLAPIC, func(i *hypervisor.DomainInfo) {
			i.Type, i.Paused, i.MemoryKiB = hypervisor.DomainTypePVH, true, 1024-hvmSpecialPages*4
		}},
		"hvm": {dominfHVM | dominfPaused, 0x3ff, func(i *hypervisor.DomainInfo) { i.Type, i.Paused = hypervisor.DomainTypeHVM, true }},
	} {
		r := base
		r.flags, r.emu = tc.flags, tc.emu
		want := hypervisor.DomainInfo{ID: 7, UUID: "dead0000-0000-0000-0000-000000000001", Type: hypervisor.DomainTypePV,
			MemoryKiB: 1024, MaxMemKiB: 2048, VCPUs: 2, CPUTime: 1500 * time.Nanosecond}
		tc.want(&want)
		require.Equal(t, want, decodeInfo(r), name)
	}

	r := base
	r.maxVCPUID = invalidVCPUID
	require.Zero(t, decodeInfo(r).VCPUs, "no vCPU yet")
	r = base
	r.domid, r.maxPages = 0, 1000
	require.Equal(t, uint64(4000), decodeInfo(r).MaxMemKiB, "dom0 has no slack")
}

func TestErrnoKind(t *testing.T) {
	for errno, kind := range map[syscall.Errno]error{
		syscall.ESRCH:  errdefs.ErrNotFound,
		syscall.ENOMEM: errdefs.ErrResourceExhausted,
		syscall.EEXIST: errdefs.ErrBusy,
		syscall.EBUSY:  errdefs.ErrBusy,
		syscall.EINVAL: errdefs.ErrInvalid,
		syscall.EPERM:  errdefs.ErrPermission,
		syscall.EIO:    errdefs.ErrUnavailable,
	} {
		err := domErr("pause", 7, fmt.Errorf("wrapped: %w", errno))
		require.ErrorIs(t, err, kind, "%v", errno)
		require.ErrorIs(t, err, errno)
		require.Contains(t, err.Error(), "pause: domain 7: ")
	}
	require.ErrorIs(t, errnoKind(fmt.Errorf("no errno")), errdefs.ErrUnavailable)
}
