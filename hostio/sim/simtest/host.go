package simtest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// NewHost starts a simulated host that logs nothing and closes when the
// test ends.
func NewHost(t testing.TB) *sim.Host {
	t.Helper()
	h, err := sim.New(sim.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("simulated host: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Dom0Dialer returns a function that opens a dom0 xenstore connection to h,
// as the toolstack's components dial one.
func Dom0Dialer(h *sim.Host) func(context.Context) (*xenstore.Client, error) {
	return func(context.Context) (*xenstore.Client, error) {
		nc, err := h.Xenstore().ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
}

// Dom0 opens a dom0 xenstore connection to h, closed when the test ends.
func Dom0(t testing.TB, h *sim.Host) *xenstore.Client {
	t.Helper()
	xs, err := Dom0Dialer(h)(context.Background())
	if err != nil {
		t.Fatalf("dom0 xenstore connection: %v", err)
	}
	t.Cleanup(func() { _ = xs.Close() })
	return xs
}
