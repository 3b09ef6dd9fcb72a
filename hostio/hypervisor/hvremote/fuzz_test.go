package hvremote

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"method":"Create","create":{"UUID":"6f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b","Type":1,"MaxVCPUs":1}}`,
		`{"method":"ReadPages","id":3,"pfns":[1,2,3]}`,
		`{"method":"WritePage","id":3,"pfn":7,"data":"AAEC"}`,
		`{"method":"HotplugAdd","device":{"Class":"vif","Frontend":2,"DevID":0}}`,
		`{"method":"Save","id":1,"save":{"DirtyOnly":true}}`,
		`not json`, ``, `{}`, `{"method":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeRequest(b)
		if err != nil {
			if !errdefs.IsInvalid(err) {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if !knownMethod(req.Method) {
			t.Fatalf("accepted unknown method %q", req.Method)
		}
		line, err := readLine(bufio.NewReader(bytes.NewReader(append(b, '\n'))), len(b))
		if err == nil && !bytes.Equal(line, b) && !bytes.Contains(b, []byte{'\n'}) {
			t.Fatalf("readLine changed the line")
		}
	})
}

// FuzzServer feeds arbitrary bytes to a server's connection: it answers or
// drops the connection, and never crashes or hangs.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"{\"method\":\"ListDomains\"}\n",
		"{\"method\":\"Create\",\"create\":{\"UUID\":\"6f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b\",\"Type\":1,\"MaxVCPUs\":1}}\n{\"method\":\"Save\",\"id\":1}\n",
		"{\"method\":\"Restore\",\"id\":1}\n\x00\x00\x00\x03abc\x00\x00\x00\x00",
		"{\"method\":\"Events\"}\n",
		"junk\n\n{\"method\":\"Pause\",\"id\":9}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		srv := NewServer(hvsim.New(hvsim.Config{}), nil, WithMaxHeaderBytes(1<<10))
		defer srv.Close()
		ours, theirs := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.serveConn(ours)
		}()
		go func() { _, _ = io.Copy(io.Discard, theirs) }()
		_ = theirs.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = theirs.Write(in)
		theirs.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not let go of a closed connection")
		}
	})
}
