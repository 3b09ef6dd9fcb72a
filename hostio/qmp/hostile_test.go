package qmp_test

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const greeting = `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}`

// fakeServer listens on a Unix socket and runs serve on each connection.
func fakeServer(t *testing.T, serve func(conn net.Conn, r *bufio.Reader)) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "q.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	done := make(chan struct{})
	conns := make(chan net.Conn, 8)
	go func() {
		defer close(done)
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conns <- conn
			go serve(conn, bufio.NewReader(conn))
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return sock
}

// negotiate answers the greeting and qmp_capabilities.
func negotiate(t *testing.T, conn net.Conn, r *bufio.Reader) bool {
	if _, err := conn.Write([]byte(greeting + "\n")); err != nil {
		return false
	}
	line, err := r.ReadString('\n')
	if err != nil || !strings.Contains(line, "qmp_capabilities") {
		return false
	}
	_, err = conn.Write([]byte(`{"return": {}, "id": ` + idOf(line) + "}\n"))
	return err == nil
}

// idOf extracts the raw "id" of a command line.
func idOf(line string) string {
	i := strings.Index(line, `"id":`)
	if i < 0 {
		return `""`
	}
	rest := line[i+5:]
	return rest[:strings.IndexAny(rest, ",}")]
}

func dialT(t *testing.T, sock string) (*qmp.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return qmp.Dial(ctx, sock)
}

func TestClient_Hostile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		serve  string // what the server writes after the negotiation, or instead of the greeting
		before bool   // written instead of the greeting
		kind   func(error) bool
	}{
		{name: "junk greeting", serve: "\x00\xffhello\n", before: true, kind: errdefs.IsInvalid},
		{name: "greeting not QMP", serve: `{"foo": 1}` + "\n", before: true, kind: errdefs.IsInvalid},
		{name: "closed before greeting", serve: "", before: true, kind: errdefs.IsUnavailable},
		{name: "huge greeting", serve: strings.Repeat("a", 17<<20), before: true, kind: errdefs.IsResourceExhausted},
		{name: "junk reply", serve: "not json at all\n", kind: errdefs.IsInvalid},
		{name: "array reply", serve: "[1,2,3]\n", kind: errdefs.IsInvalid},
		{name: "neither reply nor event", serve: `{"id": "xa-2"}` + "\n", kind: errdefs.IsInvalid},
		{name: "error without class", serve: `{"error": {}, "id": "xa-2"}` + "\n", kind: errdefs.IsInvalid},
		{name: "closed mid-command", serve: `{"retu`, kind: errdefs.IsUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := fakeServer(t, func(conn net.Conn, r *bufio.Reader) {
				defer conn.Close()
				if !tc.before {
					if !negotiate(t, conn, r) {
						return
					}
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
				}
				_, _ = conn.Write([]byte(tc.serve))
			})
			c, err := dialT(t, sock)
			if tc.before {
				require.Error(t, err)
				require.True(t, tc.kind(err), "%v", err)
				return
			}
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = c.Execute(ctx, "query-status", nil)
			require.Error(t, err)
			require.True(t, tc.kind(err), "%v", err)
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("connection not ended")
			}
			require.True(t, tc.kind(c.Err()), "%v", c.Err())
		})
	}
}

func TestClient_SilentServerTimesOut(t *testing.T) {
	sock := fakeServer(t, func(conn net.Conn, r *bufio.Reader) {
		defer conn.Close()
		_, _ = r.ReadString('\n') // never greets
		<-time.After(30 * time.Second)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := qmp.Dial(ctx, sock)
	require.Error(t, err)
	require.True(t, errdefs.IsTimeout(err), "%v", err)
}

func TestClient_CommandTimeoutKeepsConnection(t *testing.T) {
	// The server answers the second command only; the first's caller gives
	// up, and its late reply does not go to the next command.
	sock := fakeServer(t, func(conn net.Conn, r *bufio.Reader) {
		defer conn.Close()
		if !negotiate(t, conn, r) {
			return
		}
		first, err := r.ReadString('\n')
		if err != nil {
			return
		}
		second, err := r.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = conn.Write([]byte(`{"return": "first", "id": ` + idOf(first) + "}\n"))
		_, _ = conn.Write([]byte(`{"return": "second", "id": ` + idOf(second) + "}\n"))
		_, _ = r.ReadString('\n')
	})
	c, err := dialT(t, sock)
	require.NoError(t, err)
	defer c.Close()
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Execute(short, "slow", nil)
	require.True(t, errdefs.IsTimeout(err), "%v", err)
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	var got string
	require.NoError(t, c.Run(ctx, "fast", nil, &got))
	require.Equal(t, "second", got)
}

func TestClient_EventsDropOldest(t *testing.T) {
	sock := fakeServer(t, func(conn net.Conn, r *bufio.Reader) {
		defer conn.Close()
		if !negotiate(t, conn, r) {
			return
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		for _, name := range []string{"A", "B", "C", "D", "E"} {
			_, _ = conn.Write([]byte(`{"event": "` + name + `", "timestamp": {"seconds": 1, "microseconds": 2}}` + "\n"))
		}
		_, _ = conn.Write([]byte(`{"return": {}, "id": ` + idOf(line) + "}\n"))
		_, _ = r.ReadString('\n')
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, sock, qmp.WithEventBuffer(2))
	require.NoError(t, err)
	defer c.Close()
	// The reply comes after the events: the reader did not block on them.
	_, err = c.Execute(ctx, "x", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(3), c.Dropped())
	require.Equal(t, "D", (<-c.Events()).Name)
	require.Equal(t, "E", (<-c.Events()).Name)
}
