package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// removeRetry bounds how long an aborted incoming migration waits for its
// VM to read Halted before the host forgets it.
const removeRetry = 10 * time.Second

// MigrationDestination receives migrations into the host of Host
// (hostio/migrate.Destination): each incoming VM is added from the
// source's spec and a VM.receive operation of its actor makes its domain,
// restores the memory and, on the commit, plugs its devices and unpauses
// it. An aborted migration leaves nothing: the domain is torn down and the
// VM forgotten.
//
// The VM is added under its own uuid, so a VM the host already has (a
// migration to the same host) is refused with errdefs.ErrExists.
type MigrationDestination struct {
	Host Client
}

// Prepare implements migrate.Destination.
func (d MigrationDestination) Prepare(ctx context.Context, metadata []byte) (migrate.Incoming, error) {
	var m vm.MigrationMetadata
	if err := json.Unmarshal(metadata, &m); err != nil {
		return nil, fmt.Errorf("migration metadata: %v: %w", err, errdefs.ErrInvalid)
	}
	uuid := m.Spec.UUID
	c, err := d.Host.AddVM(ctx, m.Spec)
	if errdefs.IsExists(err) {
		return nil, fmt.Errorf("VM %s is already on this host (a migration to the same host is not supported yet): %w",
			uuid, err)
	}
	if err != nil {
		return nil, fmt.Errorf("add VM %s: %w", uuid, err)
	}
	in := &incoming{host: d.Host, uuid: uuid, in: vm.NewIncoming()}
	if _, err := c.Receive(ctx, in.in); err != nil {
		in.remove(ctx)
		return nil, err
	}
	if err := in.in.Prepared(ctx); err != nil {
		in.Abort(ctx)
		return nil, err
	}
	return in, nil
}

// incoming is one migration into the host.
type incoming struct {
	host Client
	uuid string
	in   *vm.Incoming
}

// Restore implements migrate.Incoming.
func (i *incoming) Restore(ctx context.Context, r io.Reader) error { return i.in.Restore(ctx, r) }

// Commit implements migrate.Incoming.
func (i *incoming) Commit(ctx context.Context) error { return i.in.Commit(ctx) }

// Abort implements migrate.Incoming: the receive operation tears its
// domain down, then the VM is forgotten.
func (i *incoming) Abort(ctx context.Context) {
	i.in.Abort(ctx)
	i.remove(ctx)
}

// remove forgets the VM once it reads Halted.
func (i *incoming) remove(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeRetry)
	defer cancel()
	for {
		err := i.host.RemoveVM(ctx, i.uuid)
		if err == nil || errdefs.IsNotFound(err) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
