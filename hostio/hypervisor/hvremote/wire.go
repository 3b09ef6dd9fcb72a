package hvremote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Wire limits.
const (
	// DefaultMaxHeaderBytes bounds a request line the server accepts.
	DefaultMaxHeaderBytes = 8 << 20
	// maxReplyBytes bounds a reply line the client accepts (ListDomains of
	// a full host).
	maxReplyBytes = 64 << 20
	// maxFrameBytes bounds one frame of a stream.
	maxFrameBytes = 1 << 20
)

// The methods of the wire.
const (
	mCreate          = "Create"
	mSetMaxMem       = "SetMaxMem"
	mSetMaxVCPUs     = "SetMaxVCPUs"
	mPause           = "Pause"
	mUnpause         = "Unpause"
	mShutdown        = "Shutdown"
	mDestroy         = "Destroy"
	mDomainInfo      = "DomainInfo"
	mListDomains     = "ListDomains"
	mBuild           = "Build"
	mSetMemoryTarget = "SetMemoryTarget"
	mEvents          = "Events"
	mSave            = "Save"
	mRestore         = "Restore"
	mEnableDirtyLog  = "EnableDirtyLog"
	mDisableDirtyLog = "DisableDirtyLog"
	mReadDirtyLog    = "ReadDirtyLog"
	mReadPages       = "ReadPages"
	mWritePage       = "WritePage"
	mWritePageAt     = "WritePageAt"
	mReadPage        = "ReadPage"
	mReadPageAt      = "ReadPageAt"
	mMemoryChecksum  = "MemoryChecksum"
	mHotplugAdd      = "HotplugAdd"
	mHotplugRemove   = "HotplugRemove"
)

// request is a header line: a method and the arguments it uses.
type request struct {
	Method string                    `json:"method"`
	ID     hypervisor.DomID          `json:"id,omitempty"`
	Create *hypervisor.CreateConfig  `json:"create,omitempty"`
	Build  *hypervisor.BuildConfig   `json:"build,omitempty"`
	KiB    uint64                    `json:"kib,omitempty"`
	N      int                       `json:"n,omitempty"`
	Reason hypervisor.ShutdownReason `json:"reason,omitempty"`
	Save   hypervisor.SaveOptions    `json:"save,omitzero"`
	Clear  bool                      `json:"clear,omitempty"`
	PFN    uint64                    `json:"pfn,omitempty"`
	Offset int                       `json:"offset,omitempty"`
	PFNs   []uint64                  `json:"pfns,omitempty"`
	Data   []byte                    `json:"data,omitempty"`
	Device *hotplug.Device           `json:"device,omitempty"`
}

// reply is a reply line: an error or the result of the method.
type reply struct {
	Error   *wireError              `json:"error,omitempty"`
	ID      hypervisor.DomID        `json:"id,omitempty"`
	Build   *hypervisor.BuildResult `json:"build,omitempty"`
	Info    *hypervisor.DomainInfo  `json:"info,omitempty"`
	Domains []hypervisor.DomainInfo `json:"domains,omitempty"`
	PFNs    []uint64                `json:"pfns,omitempty"`
	Data    []byte                  `json:"data,omitempty"`
}

// wireError is an error with its errdefs kind ("" for none).
type wireError struct {
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	return &wireError{Kind: errdefs.Kind(err), Message: err.Error()}
}

// RemoteError is an error the server returned. It unwraps to the errdefs
// value of its kind (and to the context error for canceled and timeout).
type RemoteError struct {
	Kind    string
	Message string
}

// Error returns the server's message.
func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the errdefs value of the kind, if any.
func (e *RemoteError) Unwrap() []error {
	var errs []error
	if k := errdefs.FromKind(e.Kind); k != nil {
		errs = append(errs, k)
	}
	switch e.Kind {
	case "canceled":
		errs = append(errs, context.Canceled)
	case "timeout":
		errs = append(errs, context.DeadlineExceeded)
	}
	return errs
}

func (w *wireError) err() error {
	if w == nil {
		return nil
	}
	return &RemoteError{Kind: w.Kind, Message: w.Message}
}

// errLineTooLong is a header or reply line over its limit.
var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most limit bytes, without the newline.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit+1 {
			return nil, fmt.Errorf("%w: over %d bytes", errLineTooLong, limit)
		}
		line = append(line, chunk...)
		if err == nil {
			return line[:len(line)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// decodeRequest parses and checks a header line.
func decodeRequest(line []byte) (*request, error) {
	var req request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("hvremote: malformed request: %w: %w", errdefs.ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("hvremote: malformed request: trailing data: %w", errdefs.ErrInvalid)
	}
	if !knownMethod(req.Method) {
		return nil, fmt.Errorf("hvremote: unknown method %q: %w", req.Method, errdefs.ErrInvalid)
	}
	if len(req.Data) > hypervisor.PageSize {
		return nil, fmt.Errorf("hvremote: %s: %d bytes of data exceed a page: %w", req.Method, len(req.Data), errdefs.ErrInvalid)
	}
	needs := map[string]bool{mCreate: req.Create != nil, mBuild: req.Build != nil,
		mHotplugAdd: req.Device != nil, mHotplugRemove: req.Device != nil}
	if ok, checked := needs[req.Method]; checked && !ok {
		return nil, fmt.Errorf("hvremote: %s: missing arguments: %w", req.Method, errdefs.ErrInvalid)
	}
	return &req, nil
}

func knownMethod(m string) bool {
	switch m {
	case mCreate, mSetMaxMem, mSetMaxVCPUs, mPause, mUnpause, mShutdown, mDestroy, mDomainInfo,
		mListDomains, mBuild, mSetMemoryTarget, mEvents, mSave, mRestore, mEnableDirtyLog,
		mDisableDirtyLog, mReadDirtyLog, mReadPages, mWritePage, mWritePageAt, mReadPage,
		mReadPageAt, mMemoryChecksum, mHotplugAdd, mHotplugRemove:
		return true
	}
	return false
}

// writeLine writes v as one JSON line.
func writeLine(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

// frameWriter writes a stream as length-prefixed frames; Close writes the
// empty frame that ends it.
type frameWriter struct{ w *bufio.Writer }

func (f frameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxFrameBytes)]
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(chunk)))
		if _, err := f.w.Write(hdr[:]); err != nil {
			return n, err
		}
		if _, err := f.w.Write(chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

func (f frameWriter) Close() error {
	if _, err := f.w.Write([]byte{0, 0, 0, 0}); err != nil {
		return err
	}
	return f.w.Flush()
}

// frameReader reads a stream of frames; it returns io.EOF after the empty
// frame and io.ErrUnexpectedEOF when the connection ends before it.
type frameReader struct {
	r    *bufio.Reader
	left int
	done bool
}

func (f *frameReader) Read(p []byte) (int, error) {
	for f.left == 0 {
		if f.done {
			return 0, io.EOF
		}
		var hdr [4]byte
		if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
			return 0, unexpected(err)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxFrameBytes {
			return 0, fmt.Errorf("hvremote: frame of %d bytes exceeds %d: %w", n, maxFrameBytes, errdefs.ErrInvalid)
		}
		if n == 0 {
			f.done = true
			return 0, io.EOF
		}
		f.left = int(n)
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= n
	if err != nil {
		return n, unexpected(err)
	}
	return n, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
