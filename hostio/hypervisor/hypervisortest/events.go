package hypervisortest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

func eventTests() []testCase {
	return []testCase{
		{"Events_FireOnStateChanges", testEvents},
		{"Events_ClosedWhenContextEnds", testEventsClosed},
	}
}

// drain empties a pending signal.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// expectEvent runs op and waits for a signal on ch.
func (h *harness) expectEvent(ch <-chan struct{}, what string, op func() error) {
	h.t.Helper()
	drain(ch)
	require.NoError(h.t, op(), what)
	select {
	case _, ok := <-ch:
		require.True(h.t, ok, "events channel closed while waiting for %s", what)
	case <-time.After(h.o.timeout):
		h.t.Fatalf("no event within %v after %s", h.o.timeout, what)
	}
}

func testEvents(t *testing.T, h *harness) {
	ch, err := h.hv.Events(h.ctx())
	require.NoError(t, err)
	var id hypervisor.DomID
	h.expectEvent(ch, "create", func() error {
		id = h.create(h.config(h.o.types[0]))
		return nil
	})
	_, err = h.hv.Build(h.ctx(), id, h.o.build)
	require.NoError(t, err)
	h.expectEvent(ch, "unpause", func() error { return h.hv.Unpause(h.ctx(), id) })
	h.expectEvent(ch, "pause", func() error { return h.hv.Pause(h.ctx(), id) })
	h.expectEvent(ch, "shutdown", func() error { return h.hv.Shutdown(h.ctx(), id, hypervisor.ShutdownReboot) })
	h.expectEvent(ch, "destroy", func() error { return h.hv.Destroy(h.ctx(), id) })
	h.waitGone(id)
}

func testEventsClosed(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(h.ctx())
	ch, err := h.hv.Events(ctx)
	require.NoError(t, err)
	other, err := h.hv.Events(h.ctx())
	require.NoError(t, err)
	cancel()
	deadline := time.After(h.o.timeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				h.expectEvent(other, "create after another subscriber left", func() error {
					h.create(h.config(h.o.types[0]))
					return nil
				})
				return
			}
		case <-deadline:
			t.Fatalf("events channel still open %v after its context ended", h.o.timeout)
		}
	}
}
