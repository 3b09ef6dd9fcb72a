package xenstore

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// txServer hands out transaction ids from 100 and fails the first
// conflicts commits with EAGAIN.
type txServer struct {
	mu        sync.Mutex
	next      uint32
	conflicts int
	ends      []string // "T"/"F" per TRANSACTION_END
	value     int
}

func (s *txServer) handle(f *fake, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Op {
	case OpTransactionStart:
		if m.TxID != 0 || string(m.Payload) != "\x00" {
			f.fail(m, EINVAL)
			return
		}
		s.next++
		f.reply(m, []byte(strconv.Itoa(int(99+s.next))+"\x00"))
	case OpTransactionEnd:
		s.ends = append(s.ends, FirstString(m.Payload))
		if FirstString(m.Payload) == "T" && s.conflicts > 0 {
			s.conflicts--
			f.fail(m, EAGAIN)
			return
		}
		f.ok(m)
	case OpRead, OpWrite:
		if m.TxID != 99+s.next {
			f.fail(m, EINVAL) // not in the current transaction
			return
		}
		if m.Op == OpRead {
			f.reply(m, []byte(strconv.Itoa(s.value)))
			return
		}
		_, v, _ := SplitPathValue(m.Payload)
		s.value, _ = strconv.Atoi(string(v))
		f.ok(m)
	default:
		f.fail(m, ENOSYS)
	}
}

func increment(ctx context.Context, tx *Tx) error {
	v, err := tx.Read(ctx, "/counter")
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(string(v))
	return tx.Write(ctx, "/counter", []byte(strconv.Itoa(n+1)))
}

func TestTransaction(t *testing.T) {
	s := &txServer{conflicts: 1}
	c, _ := newFake(t, s.handle)
	ctx := testCtx(t)

	tx, err := c.Transaction(ctx)
	require.NoError(t, err)
	require.Equal(t, uint32(100), tx.ID())
	require.NoError(t, increment(ctx, tx))
	err = tx.Commit(ctx)
	require.True(t, errdefs.IsConflict(err), "%v", err)
	var xe *Error
	require.ErrorAs(t, err, &xe)
	require.Equal(t, EAGAIN, xe.Errno)
	require.Equal(t, OpTransactionEnd, xe.Op)
	require.NoError(t, tx.Abort(ctx), "abort after end is a no-op")
	require.True(t, errdefs.IsInvalid(tx.Commit(ctx)))

	tx, err = c.Transaction(ctx)
	require.NoError(t, err)
	require.Equal(t, uint32(101), tx.ID())
	require.NoError(t, tx.Abort(ctx))
	require.NoError(t, tx.Abort(ctx))
	require.Equal(t, []string{"T", "F"}, s.ends)
}

func TestUpdateRetriesConflict(t *testing.T) {
	s := &txServer{conflicts: 2}
	c, _ := newFake(t, s.handle)
	calls := 0
	err := c.Update(testCtx(t), func(ctx context.Context, tx *Tx) error {
		calls++
		return increment(ctx, tx)
	})
	require.NoError(t, err)
	require.Equal(t, 3, calls)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, []string{"T", "T", "T"}, s.ends)
	require.Equal(t, uint32(3), s.next)
}

func TestUpdateFnErrorAborts(t *testing.T) {
	s := &txServer{}
	c, _ := newFake(t, s.handle)
	boom := errors.New("boom")
	calls := 0
	err := c.Update(testCtx(t), func(ctx context.Context, tx *Tx) error {
		calls++
		if err := increment(ctx, tx); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, 1, calls)
	require.Equal(t, []string{"F"}, s.ends)
}

func TestUpdateGivesUpWhenCtxEnds(t *testing.T) {
	s := &txServer{conflicts: 1 << 30}
	c, _ := newFake(t, s.handle)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.Update(ctx, increment)
	require.True(t, errdefs.IsTimeout(err), "%v", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Greater(t, s.next, uint32(1), "retried")
}
