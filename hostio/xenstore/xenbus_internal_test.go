package xenstore

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The splitter keeps its place across writes that stop anywhere (a write
// finished after its deadline goes on mid-message): no write() ever holds
// bytes of two messages.
func TestXenbusConn_SplitsAtMessageBoundaries(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	guest, kernel := os.NewFile(uintptr(fds[0]), "guest"), os.NewFile(uintptr(fds[1]), "kernel")
	t.Cleanup(func() { guest.Close(); kernel.Close() })
	c := &xenbusConn{File: guest}

	var stream []byte
	msgs := []Message{{Op: OpWrite, ReqID: 1, Payload: []byte("data/a\x00hello")},
		{Op: OpRead, ReqID: 2, Payload: []byte("data/a\x00")},
		{Op: OpTransactionStart, ReqID: 3}, // an empty payload
		{Op: OpWrite, ReqID: 4, Payload: []byte("data/b\x00world")}}
	for i := range msgs {
		stream = msgs[i].Append(stream)
	}
	// Writes cut inside a header, inside a payload, and across messages.
	for _, cut := range [][]byte{stream[:5], stream[5:20], stream[20:47], stream[47:]} {
		n, err := c.Write(cut)
		require.NoError(t, err)
		require.Equal(t, len(cut), n)
	}
	require.Zero(t, c.pos, "ends between messages")

	// Each record belongs to one message; together they are the stream.
	var got []byte
	var dec Decoder
	buf := make([]byte, 1<<16)
	for len(got) < len(stream) {
		n, err := kernel.Read(buf)
		require.NoError(t, err)
		before := dec.Buffered()
		dec.Feed(buf[:n])
		got = append(got, buf[:n]...)
		m, ok, err := dec.Next()
		require.NoError(t, err)
		if ok {
			require.Zero(t, dec.Buffered(), "a record of %d bytes (after %d buffered) ends in message %d's successor",
				n, before, m.ReqID)
		}
	}
	require.Equal(t, stream, got)
}
