package console_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestStore_LookupAndWriteTTY(t *testing.T) {
	ctx := context.Background()
	xs := simtest.Dom0(t, simtest.NewHost(t))
	ids, err := console.Domains(ctx, xs)
	require.NoError(t, err)
	require.Empty(t, ids)

	_, err = console.Lookup(ctx, xs, 5)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	require.NoError(t, xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return sim.WriteConsole(ctx, tx, 5, 14, 2)
	}))
	info, err := console.Lookup(ctx, xs, 5)
	require.NoError(t, err)
	require.Equal(t, console.Info{DomID: 5, RingRef: 14, Port: 2, Type: "xenconsoled"}, info)
	require.True(t, info.Served())
	ids, err = console.Domains(ctx, xs)
	require.NoError(t, err)
	require.Equal(t, []uint32{5}, ids)

	require.NoError(t, console.WriteTTY(ctx, xs, info, "/dev/pts/9"))
	v, err := xs.Read(ctx, "/local/domain/5/console/tty")
	require.NoError(t, err)
	require.Equal(t, "/dev/pts/9", string(v))

	// A domain torn down meanwhile is not given back a half home.
	require.NoError(t, xs.Rm(ctx, "/local/domain/5"))
	err = console.WriteTTY(ctx, xs, info, "/dev/pts/9")
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	ok, err := xs.Exists(ctx, "/local/domain/5")
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, xs.Write(ctx, "/local/domain/6/console/ring-ref", []byte("junk")))
	_, err = console.Lookup(ctx, xs, 6)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	require.NoError(t, xs.Write(ctx, "/local/domain/6/console/ring-ref", []byte("3")))
	require.NoError(t, xs.Write(ctx, "/local/domain/6/console/type", []byte("ioemu")))
	info, err = console.Lookup(ctx, xs, 6)
	require.NoError(t, err)
	require.False(t, info.Served())
}
