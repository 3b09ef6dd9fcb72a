package sim

import (
	"context"
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// The xenstore layout of the reference (xenopsd's), for the tests and
// benchmarks that play the toolstack against the simulated host.

// WriteHome makes /local/domain/<domid> as a toolstack does at domain
// creation: dom0's, readable by the guest, with guest-writable device,
// control, data, attr, drivers and feature directories, and the domain's
// id, memory target and store ring.
func WriteHome(ctx context.Context, tx *xenstore.Tx, domid uint32, targetKiB uint64, storeGFN uint64, storePort uint32) error {
	home := xenstore.DomainPath(domid)
	guestRead := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: domid, Access: xenstore.AccessRead}}
	if err := tx.MkdirPerms(ctx, home, guestRead); err != nil {
		return err
	}
	for _, d := range []string{"device", "control", "data", "attr", "drivers", "feature"} {
		if err := tx.MkdirPerms(ctx, home+"/"+d, []xenstore.Perm{{Domid: domid, Access: xenstore.AccessNone}}); err != nil {
			return err
		}
	}
	return tx.WriteKeys(ctx, home, [][2]string{
		{"domid", strconv.FormatUint(uint64(domid), 10)}, {"memory/target", strconv.FormatUint(targetKiB, 10)},
		{"memory/static-max", strconv.FormatUint(targetKiB, 10)},
		{"store/port", strconv.FormatUint(uint64(storePort), 10)}, {"store/ring-ref", strconv.FormatUint(storeGFN, 10)},
	})
}

// ConsoleLimit is console/limit as the reference's domain creation writes
// it: the bytes xenconsoled may buffer for the domain.
const ConsoleLimit = 1048576

// WriteConsole writes the domain's console keys as a toolstack does at
// domain creation, in its home (dom0's, readable by the guest): the ring's
// page and event channel from the build, console/limit and
// console/type=xenconsoled, which the console daemon serves.
func WriteConsole(ctx context.Context, tx *xenstore.Tx, domid uint32, consoleGFN uint64, consolePort uint32) error {
	return tx.WriteKeys(ctx, xenstore.DomainPath(domid)+"/console", [][2]string{
		{"ring-ref", strconv.FormatUint(consoleGFN, 10)}, {"port", strconv.FormatUint(uint64(consolePort), 10)},
		{"limit", strconv.Itoa(ConsoleLimit)}, {"type", "xenconsoled"},
	})
}

// WriteDevice writes a VBD's or VIF's backend and frontend trees with the
// reference's keys and permissions, both in state Initialising: each
// directory made with its permissions first so that the keys inherit them.
// params is the VBD's params (its disk) or the VIF's bridge.
func WriteDevice(ctx context.Context, tx *xenstore.Tx, k DeviceKey, params string) error {
	b := xenbus.Backing{Params: params}
	if k.Class == VIF {
		b = xenbus.Backing{Bridge: params}
	}
	return xenbus.WriteTrees(ctx, tx, k.Device(), b)
}
