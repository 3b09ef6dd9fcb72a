package sim

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// backends simulates the dom0 kernel's blkback and netback drivers on
// dom0's xenbus connection. One watch on /local/domain sees both the
// backend trees and the frontends' state nodes; each change queues the
// device it belongs to, and reconcile moves the backend state on.
type backends struct {
	xs      *xenstore.Client
	netdevs *NetDevs
	faults  *Faults
	log     *slog.Logger
	q       *queue[DeviceKey]

	mu      sync.Mutex
	readyAt map[DeviceKey]time.Time // when a delayed transition may happen
}

func startBackends(ctx context.Context, xs *xenstore.Client, netdevs *NetDevs, faults *Faults, log *slog.Logger) (*backends, error) {
	b := &backends{xs: xs, netdevs: netdevs, faults: faults, log: log, readyAt: make(map[DeviceKey]time.Time)}
	b.q = newQueue(4, func(k DeviceKey) int { return int(k.Frontend)*31 + k.DevID }, b.reconcile)
	w, err := xs.Watch(ctx, "/local/domain", "backends")
	if err != nil {
		b.q.close()
		return nil, err
	}
	go func() {
		for ev := range w.Events() {
			if k, ok := parseDevicePath(ev.Path); ok {
				b.q.add(k)
			}
		}
	}()
	return b, nil
}

func (b *backends) close() { b.q.close() }

// delayed reports whether a transition of k must wait for the configured
// backend delay, scheduling a retry if so.
func (b *backends) delayed(k DeviceKey) bool {
	d := b.faults.backendDelay()
	if d <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.readyAt[k]
	now := time.Now()
	if !ok {
		b.readyAt[k] = now.Add(d)
		b.q.after(d, k)
		return true
	}
	if now.Before(at) {
		return true
	}
	delete(b.readyAt, k)
	return false
}

func (b *backends) reconcile(k DeviceKey) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	be := k.BackendPath()
	state := readState(ctx, b.xs.Handle, be+"/state")
	if state == stateMissing {
		// The toolstack removed the backend: the driver lets go of the device.
		if k.Class == VIF {
			b.netdevs.remove(VifName(k.Frontend, k.DevID))
		}
		return
	}
	fe, _ := readString(ctx, b.xs.Handle, be+"/frontend")
	fstate := stateMissing
	if fe != "" {
		fstate = readState(ctx, b.xs.Handle, fe+"/state")
	}
	next, extra := b.step(ctx, k, state, fstate, fe)
	if next == state || b.delayed(k) {
		return
	}
	err := b.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		// Re-check inside the transaction: the toolstack may have moved on.
		if readState(ctx, tx.Handle, be+"/state") != state {
			return nil
		}
		for key, v := range extra {
			if err := tx.Write(ctx, be+"/"+key, []byte(v)); err != nil {
				return err
			}
		}
		return tx.Write(ctx, be+"/state", next.Value())
	})
	if !ignorable(err) {
		b.log.Warn("simulated backend could not change state", "device", be, "state", next.String(), "err", err)
	}
	if next == xenbus.StateClosed && k.Class == VIF {
		b.netdevs.remove(VifName(k.Frontend, k.DevID))
	}
}

// step decides the backend's next state and the keys it publishes with it.
func (b *backends) step(ctx context.Context, k DeviceKey, state, fstate xenbus.State, fe string) (xenbus.State, map[string]string) {
	be := k.BackendPath()
	switch state {
	case xenbus.StateInitialising:
		if k.Class == VIF {
			// netback creates the interface; hotplug waits for InitWait.
			b.netdevs.add(VifName(k.Frontend, k.DevID))
			return xenbus.StateInitWait, map[string]string{"feature-sg": "1", "feature-gso-tcpv4": "1",
				"feature-rx-copy": "1", "feature-rx-flip": "0"}
		}
		// blkback opens the device once hotplug has published it.
		if _, ok := readString(ctx, b.xs.Handle, be+"/physical-device"); ok {
			return xenbus.StateInitWait, map[string]string{"feature-flush-cache": "1", "feature-discard": "0",
				"feature-persistent": "1", "max-ring-page-order": "4"}
		}
	case xenbus.StateInitWait:
		if fstate == xenbus.StateInitialised || fstate == xenbus.StateConnected {
			if !b.frontendRingReady(ctx, k, fe) {
				return state, nil
			}
			if k.Class == VBD {
				return xenbus.StateConnected, map[string]string{"sectors": "20971520", "sector-size": "512",
					"info": "0", "kthread-pid": strconv.Itoa(1000 + k.DevID)}
			}
			// netback connects only once hotplug has put the interface on
			// its bridge (it watches hotplug-status).
			if v, _ := readString(ctx, b.xs.Handle, be+"/hotplug-status"); v == "connected" {
				return xenbus.StateConnected, nil
			}
		}
	case xenbus.StateConnected:
		if fstate == xenbus.StateClosing || fstate == xenbus.StateClosed || fstate == stateMissing {
			return xenbus.StateClosing, nil
		}
	case xenbus.StateClosing:
		// The toolstack (unplug) or the frontend started closing: done once
		// the frontend is closed or gone.
		if fstate == xenbus.StateClosed || fstate == stateMissing || fstate == xenbus.StateInitialising {
			return xenbus.StateClosed, nil
		}
	}
	return state, nil
}

// frontendRingReady checks the frontend published its ring and event channel.
func (b *backends) frontendRingReady(ctx context.Context, k DeviceKey, fe string) bool {
	keys := []string{"ring-ref", "event-channel"}
	if k.Class == VIF {
		keys = []string{"tx-ring-ref", "rx-ring-ref", "event-channel"}
	}
	for _, key := range keys {
		if _, ok := readString(ctx, b.xs.Handle, fe+"/"+key); !ok {
			return false
		}
	}
	return true
}
