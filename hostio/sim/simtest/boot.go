package simtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// GuestMemoryKiB is each guest's memory: small, since the simulator
// allocates only the pages a guest writes, but accounted.
const GuestMemoryKiB = 64 << 10

// Booter boots guests on a simulated host the way a toolstack would,
// through the hypervisor interface and a dom0 xenstore connection only.
type Booter struct {
	h    *sim.Host
	hv   hypervisor.Hypervisor
	xs   *xenstore.Client
	wait *StateWaiter
}

// NewBooter connects to h's xenstore as dom0.
func NewBooter(ctx context.Context, h *sim.Host) (*Booter, error) {
	nc, err := h.Xenstore().ConnectDomain(0)
	if err != nil {
		return nil, err
	}
	xs := xenstore.NewClient(nc)
	w, err := NewStateWaiter(ctx, xs)
	if err != nil {
		xs.Close()
		return nil, err
	}
	return &Booter{h: h, hv: h.Hypervisor(), xs: xs, wait: w}, nil
}

// Close closes the dom0 connection.
func (b *Booter) Close() { b.xs.Close() }

// defaultUUID is the uuid of every domain Boot creates.
const defaultUUID = "00000000-0000-4000-8000-000000000000"

// VM names what BootVM writes beyond Boot's plain layout: the VM's uuid in
// /local/domain/<d>/vm and /vm/<uuid>, and its VIF's and the VIF's
// network's uuids in the VIF's private directory (sim.PrivatePath), where
// VIF hotplug reads the port's external-ids. Empty fields are not written.
type VM struct {
	UUID        string
	VIFUUID     string
	NetworkUUID string
}

// Boot starts one guest booting image with a VBD and a VIF, unpaused, and
// waits until both frontends are Connected.
func (b *Booter) Boot(ctx context.Context, image string) (hypervisor.DomID, error) {
	return b.BootVM(ctx, image, VM{})
}

// BootVM boots a guest as Boot does, with vm's ids written for hotplug.
func (b *Booter) BootVM(ctx context.Context, image string, vm VM) (hypervisor.DomID, error) {
	uuid := vm.UUID
	if uuid == "" {
		uuid = defaultUUID
	}
	id, err := b.hv.Create(ctx, hypervisor.CreateConfig{UUID: uuid,
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: GuestMemoryKiB})
	if err != nil {
		return 0, err
	}
	res, err := b.hv.Build(ctx, id, hypervisor.BuildConfig{Kernel: image, MemoryKiB: GuestMemoryKiB, TargetKiB: GuestMemoryKiB})
	if err != nil {
		return id, err
	}
	domid := uint32(id)
	if err := b.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := sim.WriteHome(ctx, tx, domid, GuestMemoryKiB, res.StoreGFN, res.StorePort); err != nil {
			return err
		}
		if err := sim.WriteConsole(ctx, tx, domid, res.ConsoleGFN, res.ConsolePort); err != nil {
			return err
		}
		if vm.UUID == "" {
			return nil
		}
		if err := tx.Write(ctx, xenstore.DomainPath(domid)+"/vm", []byte("/vm/"+vm.UUID)); err != nil {
			return err
		}
		return tx.Write(ctx, "/vm/"+vm.UUID+"/uuid", []byte(vm.UUID))
	}); err != nil {
		return id, err
	}
	if err := b.xs.Introduce(ctx, domid, res.StoreGFN, res.StorePort); err != nil {
		return id, err
	}
	devs := []struct {
		k      sim.DeviceKey
		params string
	}{{sim.DeviceKey{Class: sim.VBD, Frontend: domid, DevID: 51712}, "/dev/loop0"},
		{sim.DeviceKey{Class: sim.VIF, Frontend: domid, DevID: 0}, "xenbr0"}}
	connected := make([]<-chan struct{}, len(devs))
	for i, d := range devs {
		connected[i] = b.wait.Until(d.k.FrontendPath()+"/state", xenbus.StateConnected)
		if err := b.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
			if err := sim.WriteDevice(ctx, tx, d.k, d.params); err != nil {
				return err
			}
			if d.k.Class == sim.VIF {
				return sim.WriteVIFPrivate(ctx, tx, d.k, vm.VIFUUID, vm.NetworkUUID)
			}
			return nil
		}); err != nil {
			return id, err
		}
	}
	// Hotplug: the VBD's at once, the VIF's once netback made the interface.
	for _, d := range devs {
		if err := b.h.Hotplug().Add(ctx, d.k); err != nil {
			return id, err
		}
	}
	if err := b.hv.Unpause(ctx, id); err != nil {
		return id, err
	}
	for i, ch := range connected {
		select {
		case <-ch:
		case <-ctx.Done():
			k := devs[i].k
			fe, _ := b.xs.Read(context.Background(), k.FrontendPath()+"/state")
			be, _ := b.xs.Read(context.Background(), k.BackendPath()+"/state")
			return id, fmt.Errorf("guest %d: %s never connected (frontend %s, backend %s, guests running %d): %w",
				domid, k.FrontendPath(), fe, be, b.h.Guests(), ctx.Err())
		}
	}
	return id, nil
}

// BootResult is the outcome of booting many guests.
type BootResult struct {
	Guests      int
	Concurrency int
	Elapsed     time.Duration
	PerSecond   float64
	P50, P99    time.Duration
	Max         time.Duration
}

// BootMany boots n guests, concurrency at a time.
func (b *Booter) BootMany(ctx context.Context, n, concurrency int, image string) (BootResult, error) {
	lat := make([]time.Duration, n)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			if _, err := b.Boot(ctx, image); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			lat[i] = time.Since(t0)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return BootResult{}, firstErr
	}
	slices.Sort(lat)
	return BootResult{Guests: n, Concurrency: concurrency, Elapsed: elapsed,
		PerSecond: float64(n) / elapsed.Seconds(), P50: lat[n/2], P99: lat[n*99/100], Max: lat[n-1]}, nil
}
