// Package tailbuf keeps the end of a process's output: an io.Writer for a
// child's stderr whose last bytes go into the error when it fails.
package tailbuf

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer keeping the last Max bytes written to it, safe for
// a writer and readers at once.
type Buffer struct {
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write keeps p, dropping what is over Max from the front.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.Max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

// String returns the bytes kept.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
