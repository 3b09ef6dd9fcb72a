package cli_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// protoUnmarshal parses the protojson output s into m.
func protoUnmarshal(s string, m proto.Message) error { return protojson.Unmarshal([]byte(s), m) }

// joinFields is each line of s with its fields joined by one space.
func joinFields(s string) []string {
	var out []string
	for _, l := range lines(s) {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return out
}

// fmtSscanf is fmt.Sscanf.
func fmtSscanf(s, format string, args ...any) (int, error) { return fmt.Sscanf(s, format, args...) }

// uitoa formats n.
func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }

// lockedBuffer is a buffer written by a command on another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
