package xenstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// sleep waits a jittered *backoff (in [b/2, b]) and doubles it up to
// 100ms; it returns ctx.Err() if ctx ends first.
func sleep(ctx context.Context, backoff *time.Duration) error {
	d := *backoff
	*backoff = min(2*d, 100*time.Millisecond)
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Tx is an open transaction. Its embedded Handle runs operations inside it;
// end it with exactly one Commit or Abort.
type Tx struct {
	Handle
	ended atomic.Bool
}

// abortTimeout bounds the ABORT that Update sends after its context ended.
const abortTimeout = 5 * time.Second

// Transaction starts a transaction.
func (c *Client) Transaction(ctx context.Context) (*Tx, error) {
	m, err := c.exchange(ctx, OpTransactionStart, 0, []string{""}, nil)
	if err != nil {
		return nil, err
	}
	id, perr := strconv.ParseUint(FirstString(m.Payload), 10, 32)
	if perr != nil || id == 0 {
		return nil, fmt.Errorf("xenstore %s: reply %q: %w", OpTransactionStart, m.Payload, errMalformed)
	}
	return &Tx{Handle: Handle{c: c, tx: uint32(id)}}, nil
}

// ID returns the transaction id the daemon assigned.
func (t *Tx) ID() uint32 { return t.tx }

// Commit ends the transaction, applying its changes. If another change got
// in the way (EAGAIN) it returns an *Error wrapping errdefs.ErrConflict and
// nothing was applied: run the transaction again.
func (t *Tx) Commit(ctx context.Context) error {
	return t.end(ctx, "T")
}

// Abort ends the transaction, dropping its changes. Aborting a transaction
// already ended returns nil.
func (t *Tx) Abort(ctx context.Context) error {
	if t.ended.Load() {
		return nil
	}
	return t.end(ctx, "F")
}

func (t *Tx) end(ctx context.Context, how string) error {
	if !t.ended.CompareAndSwap(false, true) {
		return fmt.Errorf("xenstore %s: transaction %d already ended: %w", OpTransactionEnd, t.tx, errdefs.ErrInvalid)
	}
	_, err := t.c.exchange(ctx, OpTransactionEnd, t.tx, []string{how}, nil)
	return err
}

// Update runs fn in a transaction and commits it. When the transaction
// conflicts (an error for which errdefs.IsConflict holds, from the commit,
// the start or fn itself) the whole thing runs again after a short jittered
// backoff, until ctx ends. Any other error from fn aborts the transaction
// and is returned as it is.
func (c *Client) Update(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	backoff := time.Millisecond
	for {
		err := c.updateOnce(ctx, fn)
		if err == nil || !errdefs.IsConflict(err) {
			return err
		}
		if cerr := sleep(ctx, &backoff); cerr != nil {
			return fmt.Errorf("xenstore: transaction: %w (after %w)", cerr, err)
		}
	}
}

func (c *Client) updateOnce(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	tx, err := c.Transaction(ctx)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		if !tx.ended.Load() {
			// Abort even when ctx has ended, or the daemon keeps the
			// transaction open until the connection goes.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			_ = tx.Abort(actx)
			cancel()
		}
		return err
	}
	if tx.ended.Load() {
		return nil // fn ended it itself
	}
	return tx.Commit(ctx)
}
