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
// A VM the host already has (a migration to the same host) is received
// under a temporary uuid and takes its own back once the source's copy is
// gone (Client.AddIncomingVM, KindIncoming).
type MigrationDestination struct {
	Host Client
}

// Prepare implements migrate.Destination.
func (d MigrationDestination) Prepare(ctx context.Context, metadata []byte) (migrate.Incoming, error) {
	var m vm.MigrationMetadata
	if err := json.Unmarshal(metadata, &m); err != nil {
		return nil, fmt.Errorf("migration metadata: %v: %w", err, errdefs.ErrInvalid)
	}
	uuid, temp := m.Spec.UUID, ""
	var c vm.Client
	if _, err := d.Host.VM(ctx, uuid); err == nil {
		c, temp, err = d.Host.AddIncomingVM(ctx, m.Spec)
		if err != nil {
			return nil, fmt.Errorf("add VM %s: %w", uuid, err)
		}
	} else {
		// From another host: recorded before the VM's own record, so that
		// a daemon dying now does not come back with a copy of it.
		if err := d.Host.BeginReceiving(ctx, uuid); err != nil {
			return nil, err
		}
		if c, err = d.Host.AddVM(ctx, m.Spec); err != nil {
			_ = d.Host.EndReceiving(context.WithoutCancel(ctx), uuid)
			return nil, fmt.Errorf("add VM %s: %w", uuid, err)
		}
	}
	in := &incoming{host: d.Host, uuid: uuid, temp: temp, in: vm.NewIncoming()}
	if temp != "" {
		in.uuid = temp
	}
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
	uuid string // the uuid the VM is received under
	temp string // the temporary uuid of a migration to the same host, else ""
	in   *vm.Incoming
}

// Restore implements migrate.Incoming.
func (i *incoming) Restore(ctx context.Context, r io.Reader) error { return i.in.Restore(ctx, r) }

// Commit implements migrate.Incoming. A VM received under a temporary uuid
// is recorded as committed first, and takes its own uuid back once the
// source forgot it.
func (i *incoming) Commit(ctx context.Context) error {
	var err error
	if i.temp != "" {
		err = i.host.CommitIncoming(ctx, i.temp)
	} else {
		err = i.host.CommitReceiving(ctx, i.uuid)
	}
	if err != nil {
		return err
	}
	if err := i.in.Commit(ctx); err != nil {
		return err
	}
	if i.temp != "" {
		i.host.FinishIncoming(i.temp)
	} else {
		// Should the record stay, a restarted daemon keeps the committed
		// VM as it is.
		_ = i.host.EndReceiving(ctx, i.uuid)
	}
	return nil
}

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
		if err == nil || errdefs.IsNotFound(err) {
			if i.temp == "" {
				_ = i.host.EndReceiving(ctx, i.uuid)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
