package hvremote

import (
	"bufio"
	"bytes"
	"testing"

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
