package sim

import (
	"context"
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// frontend moves one PV frontend (blkfront/netfront) through the XenBus
// handshake against its backend's state:
// Initialising -> (backend InitWait or Connected) publish the ring and go
// Initialised -> (backend Connected) Connected; when the backend closes,
// Closing -> Closed, or Closed at once if it had not connected yet.
func (g *guest) frontend(k DeviceKey) {
	ctx, cancel := g.ctx()
	defer cancel()
	fe := "device/" + string(k.Class) + "/" + strconv.Itoa(k.DevID)
	state := readState(ctx, g.xs.Handle, fe+"/state")
	if state == stateMissing {
		delete(g.devs, k)
		return
	}
	be, ok := readString(ctx, g.xs.Handle, fe+"/backend")
	if !ok {
		return
	}
	bstate := readState(ctx, g.xs.Handle, be+"/state")
	var next xenbus.State
	switch {
	case (state == xenbus.StateInitialising || state == xenbus.StateInitWait) &&
		(bstate == xenbus.StateInitWait || bstate == xenbus.StateConnected):
		if g.faults.frontendHangs() {
			return
		}
		g.publishRing(ctx, k, fe)
		return
	case (state == xenbus.StateInitialising || state == xenbus.StateInitWait) &&
		(bstate == xenbus.StateClosing || bstate == xenbus.StateClosed):
		// A backend that closes before the frontend connected: Linux's
		// blkfront and netfront close at once (xenbus_frontend_closed).
		if g.faults.frontendHangs() {
			return
		}
		next = xenbus.StateClosed
	case state == xenbus.StateInitialised && bstate == xenbus.StateConnected:
		next = xenbus.StateConnected
	case (state == xenbus.StateConnected || state == xenbus.StateInitialised) && (bstate == xenbus.StateClosing || bstate == xenbus.StateClosed):
		next = xenbus.StateClosing
	case state == xenbus.StateClosing:
		next = xenbus.StateClosed
	default:
		return
	}
	g.setState(ctx, k, fe, next)
}

// setState switches the frontend's state as Linux's xenbus_switch_state
// does: in a transaction that first checks the state node still exists, so
// a device the toolstack removed is not brought back half made.
func (g *guest) setState(ctx context.Context, k DeviceKey, fe string, s xenbus.State) {
	gone := false
	err := g.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if readState(ctx, tx.Handle, fe+"/state") == stateMissing {
			gone = true
			return nil
		}
		return tx.Write(ctx, fe+"/state", s.Value())
	})
	g.ignore(err)
	if gone {
		delete(g.devs, k)
		return
	}
	if err == nil && s == xenbus.StateConnected && g.devs[k] != xenbus.StateConnected {
		g.print(frontendLines(k, !g.drivers[k.Class]))
		g.drivers[k.Class] = true
	}
	g.devs[k] = s
}

// publishRing grants the shared ring, allocates the event channel and
// announces them with the Initialised state, in one transaction.
func (g *guest) publishRing(ctx context.Context, k DeviceKey, fe string) {
	g.gref += 8
	gref := strconv.Itoa(g.gref)
	keys := map[string]string{"ring-ref": gref, "event-channel": strconv.Itoa(10 + k.DevID%64),
		"protocol": "x86_64-abi"}
	if k.Class == VIF {
		keys = map[string]string{"tx-ring-ref": gref, "rx-ring-ref": strconv.Itoa(g.gref + 1),
			"event-channel": strconv.Itoa(10 + k.DevID%64), "request-rx-copy": "1", "feature-rx-notify": "1",
			"feature-sg": "1"}
	}
	err := g.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if readState(ctx, tx.Handle, fe+"/state") == stateMissing {
			return nil
		}
		for key, v := range keys {
			if err := tx.Write(ctx, fe+"/"+key, []byte(v)); err != nil {
				return err
			}
		}
		return tx.Write(ctx, fe+"/state", xenbus.StateInitialised.Value())
	})
	g.ignore(err)
	if err == nil {
		g.devs[k] = xenbus.StateInitialised
	}
}
