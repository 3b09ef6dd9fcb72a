package xenstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// benchServer answers every request with a fixed value over a Unix socket,
// reusing its buffers so that the benchmark counts the client's allocations.
type benchServer struct {
	conn net.Conn
	br   *bufio.Reader
	hdr  [HeaderSize]byte
	in   [PayloadMax]byte
	out  []byte
}

func (s *benchServer) serve() {
	const value = "value"
	for {
		if _, err := io.ReadFull(s.br, s.hdr[:]); err != nil {
			return
		}
		h := DecodeHeader(s.hdr[:])
		if h.Len > PayloadMax {
			return
		}
		if _, err := io.ReadFull(s.br, s.in[:h.Len]); err != nil {
			return
		}
		s.out = binary.NativeEndian.AppendUint32(s.out[:0], uint32(h.Op))
		s.out = binary.NativeEndian.AppendUint32(s.out, h.ReqID)
		s.out = binary.NativeEndian.AppendUint32(s.out, h.TxID)
		s.out = binary.NativeEndian.AppendUint32(s.out, uint32(len(value)))
		s.out = append(s.out, value...)
		if _, err := s.conn.Write(s.out); err != nil {
			return
		}
	}
}

func benchClient(b *testing.B) *Client {
	sock := filepath.Join(b.TempDir(), "socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		s := &benchServer{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), out: make([]byte, 0, 64)}
		s.serve()
	}()
	c, err := Dial(context.Background(), sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkClientRoundTrip measures READs from parallel callers sharing one
// connection.
func BenchmarkClientRoundTrip(b *testing.B) {
	run := func(b *testing.B, ctx context.Context) {
		c := benchClient(b)
		b.ReportAllocs()
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Read(ctx, "/local/domain/0/name"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("background", func(b *testing.B) { run(b, context.Background()) })
	b.Run("deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		run(b, ctx)
	})
}
