package console_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestRing_Layout(t *testing.T) {
	// struct xencons_interface: in[1024], out[2048], then in_cons,
	// in_prod, out_cons, out_prod.
	require.Equal(t, 0, console.OffIn)
	require.Equal(t, 1024, console.OffOut)
	require.Equal(t, 3072, console.OffInCons)
	require.Equal(t, 3076, console.OffInProd)
	require.Equal(t, 3080, console.OffOutCons)
	require.Equal(t, 3084, console.OffOutProd)
	page := make([]byte, hypervisor.PageSize)
	page[3084] = 7
	require.Equal(t, uint32(7), console.ReadIndexes(page).OutProd)
}

// Output and input wrap around their rings and around the 32-bit indexes.
func TestRing_WrapsAround(t *testing.T) {
	for _, start := range []uint32{0, 2000, 1<<32 - 5} {
		page := make([]byte, hypervisor.PageSize)
		console.SetIndex(page, console.OffOutCons, start)
		console.SetIndex(page, console.OffOutProd, start)
		msg := bytes.Repeat([]byte("0123456789"), 30)
		for range 20 {
			n, err := console.PutOutput(page, msg)
			require.NoError(t, err)
			require.Equal(t, len(msg), n)
			got, err := console.Output(page)
			require.NoError(t, err)
			require.Equal(t, msg, got)
			ix := console.ReadIndexes(page)
			console.SetIndex(page, console.OffOutCons, ix.OutProd)
		}

		console.SetIndex(page, console.OffInCons, start)
		console.SetIndex(page, console.OffInProd, start)
		n, err := console.PutInput(page, bytes.Repeat([]byte("x"), 2000))
		require.NoError(t, err)
		require.Equal(t, console.InSize, n, "only what fits")
		n, err = console.PutInput(page, []byte("y"))
		require.NoError(t, err)
		require.Zero(t, n, "full")
		in, err := console.Input(page)
		require.NoError(t, err)
		require.Equal(t, bytes.Repeat([]byte("x"), console.InSize), in)
	}
}

func TestRing_FullOutputTakesWhatFits(t *testing.T) {
	page := make([]byte, hypervisor.PageSize)
	n, err := console.PutOutput(page, bytes.Repeat([]byte("a"), 3000))
	require.NoError(t, err)
	require.Equal(t, console.OutSize, n)
	n, err = console.PutOutput(page, []byte("b"))
	require.NoError(t, err)
	require.Zero(t, n)
}

// Indexes that say more is queued than the ring holds are ErrCorrupt: no
// read larger than the ring, whatever the guest wrote.
func TestRing_CorruptIndexes(t *testing.T) {
	page := make([]byte, hypervisor.PageSize)
	console.SetIndex(page, console.OffOutProd, 0xffff_fff0)
	_, err := console.Output(page)
	require.ErrorIs(t, err, console.ErrCorrupt)
	require.True(t, errdefs.IsInvalid(err))
	n, err := console.PutOutput(page, []byte("x"))
	require.NoError(t, err)
	require.Zero(t, n)

	console.SetIndex(page, console.OffInCons, 5000)
	_, err = console.PutInput(page, []byte("x"))
	require.ErrorIs(t, err, console.ErrCorrupt)
	_, err = console.Input(page)
	require.ErrorIs(t, err, console.ErrCorrupt)

	_, err = console.Output(page[:100])
	require.True(t, errdefs.IsInvalid(err))
}

func FuzzOutput(f *testing.F) {
	f.Add(uint32(0), uint32(10), []byte("hello"))
	f.Add(uint32(1<<32-3), uint32(2), []byte{})
	f.Fuzz(func(t *testing.T, cons, prod uint32, data []byte) {
		page := make([]byte, hypervisor.PageSize)
		copy(page[console.OffOut:console.OffInCons], data)
		console.SetIndex(page, console.OffOutCons, cons)
		console.SetIndex(page, console.OffOutProd, prod)
		out, err := console.Output(page)
		if err != nil {
			require.ErrorIs(t, err, console.ErrCorrupt)
			return
		}
		require.LessOrEqual(t, len(out), console.OutSize)
		require.Equal(t, int(prod-cons), len(out))
	})
}
