package xenstored

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

func seedStream(msgs ...xenstore.Message) []byte {
	var b []byte
	for i, m := range msgs {
		m.ReqID = uint32(i + 1)
		b = m.Append(b)
	}
	return b
}

// FuzzServer sends arbitrary bytes to the daemon as a privileged socket
// client and as a guest, then checks that the daemon still answers and
// that its tree is consistent.
func FuzzServer(f *testing.F) {
	w := func(path, value string) xenstore.Message {
		return xenstore.Message{Op: xenstore.OpWrite, Payload: append(xenstore.Strings(path), value...)}
	}
	one := func(op xenstore.Op, args ...string) xenstore.Message {
		return xenstore.Message{Op: op, Payload: xenstore.Strings(args...)}
	}
	f.Add(seedStream(w("/a/b", "x"), one(xenstore.OpRead, "/a/b"), one(xenstore.OpDirectory, "/a"),
		one(xenstore.OpRm, "/a")), false)
	f.Add(seedStream(w("data/x", "1"), one(xenstore.OpWatch, "data", "t"), w("data/y", ""),
		one(xenstore.OpUnwatch, "data", "t")), true)
	f.Add(seedStream(one(xenstore.OpTransactionStart, ""), one(xenstore.OpSetPerms, "/a", "n0", "r5"),
		one(xenstore.OpDirectoryPart, "/", "0"), one(xenstore.OpGetPerms, "@releaseDomain")), false)
	f.Add(seedStream(one(xenstore.OpIntroduce, "6", "1", "1"), one(xenstore.OpRelease, "6"),
		one(xenstore.OpGetQuota, "5", "nodes"), one(xenstore.OpControl, "check")), false)
	f.Add([]byte{1, 2, 3}, true)

	srv := New(Config{MaxPendingBytes: 64 << 10})
	defer srv.Close()
	srv.introduce(5)
	f.Fuzz(func(t *testing.T, stream []byte, asGuest bool) {
		var nc net.Conn
		if asGuest {
			var err error
			if nc, err = srv.ConnectDomain(5); err != nil {
				srv.introduce(5) // a previous input released it
				if nc, err = srv.ConnectDomain(5); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			ours, theirs := net.Pipe()
			if !srv.start(newConn(srv, ours, nil)) {
				t.Fatal("server closed")
			}
			nc = theirs
		}
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, nc)
			close(drained)
		}()
		nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		nc.Write(stream)
		nc.Close()
		<-drained
		if problems := srv.check(); len(problems) > 0 {
			t.Fatalf("tree inconsistent after %q: %v", stream, problems)
		}
	})
}
