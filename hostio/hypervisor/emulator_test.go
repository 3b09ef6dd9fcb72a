package hypervisor_test

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestEmulatorState_RoundTrip(t *testing.T) {
	in := hypervisor.EmulatorState{Emulator: "demu", Instance: 3, Data: []byte(`{"frames":7}`)}
	b, err := in.MarshalBinary()
	require.NoError(t, err)
	var out hypervisor.EmulatorState
	require.NoError(t, out.UnmarshalBinary(b))
	require.Equal(t, in, out)
	require.Equal(t, "emulator-state", hypervisor.RecordEmulatorState.String())

	for _, bad := range [][]byte{nil, {1, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}, {9, 0, 0, 0, 0, 0, 0, 0, 'd'}} {
		require.ErrorIs(t, new(hypervisor.EmulatorState).UnmarshalBinary(bad), errdefs.ErrInvalid, "%x", bad)
	}
	_, err = hypervisor.EmulatorState{Instance: 1}.MarshalBinary()
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}

// image writes an image of a header-like record, a page batch and End.
func image(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, hypervisor.WriteRecord(&buf, hypervisor.RecordHeader, bytes.Repeat([]byte{1}, 80)))
	require.NoError(t, hypervisor.WriteRecord(&buf, hypervisor.RecordPageBatch, bytes.Repeat([]byte{2}, 5000)))
	require.NoError(t, hypervisor.WriteRecord(&buf, hypervisor.RecordEnd, nil))
	return buf.Bytes()
}

func TestImageReader_StopsAfterEnd(t *testing.T) {
	img := image(t)
	state, err := hypervisor.EmulatorState{Emulator: "demu", Instance: 0, Data: []byte("state")}.MarshalBinary()
	require.NoError(t, err)
	var stream bytes.Buffer
	stream.Write(img)
	require.NoError(t, hypervisor.WriteRecord(&stream, hypervisor.RecordEmulatorState, state))

	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r }, "one byte at a time": iotest.OneByteReader,
	} {
		t.Run(name, func(t *testing.T) {
			br := bufio.NewReader(wrap(bytes.NewReader(stream.Bytes())))
			got, err := io.ReadAll(hypervisor.ImageReader(br))
			require.NoError(t, err)
			require.Equal(t, img, got, "exactly the image")
			typ, body, err := hypervisor.ReadRecord(br)
			require.NoError(t, err)
			require.Equal(t, hypervisor.RecordEmulatorState, typ)
			require.Equal(t, state, body)
			_, _, err = hypervisor.ReadRecord(br)
			require.Equal(t, io.EOF, err)
		})
	}
}

func TestImageReader_TruncatedOrHuge(t *testing.T) {
	img := image(t)
	_, err := io.ReadAll(hypervisor.ImageReader(bytes.NewReader(img[:len(img)-1])))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = io.ReadAll(hypervisor.ImageReader(bytes.NewReader(nil)))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	huge := make([]byte, hypervisor.RecordHeaderSize)
	huge[0], huge[8], huge[15] = 2, 0, 0x7f
	_, err = io.ReadAll(hypervisor.ImageReader(bytes.NewReader(huge)))
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}
