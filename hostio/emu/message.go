package emu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// MaxLineBytes bounds one line of the protocol, either way; a longer line
// is a protocol error.
const MaxLineBytes = 4096

// Kind is the kind of a message from the helper: its prefix.
type Kind string

// The messages the helper prints.
const (
	KindSuspend Kind = "suspend"
	KindPrepare Kind = "prepare"
	KindInfo    Kind = "info"
	KindResult  Kind = "result"
	KindError   Kind = "error"
)

// The commands the toolstack writes to the helper, without their newline.
const (
	CmdDone  = "done"
	CmdAbort = "abort"
	// CmdRestorePrefix starts restore:<emu>.
	CmdRestorePrefix = "restore:"
)

// The emulators with a part in the image, as prepare:<emu>, restore:<emu>
// and result:<emu> name them. EmuXenguest's part is the domain's memory
// and vCPUs; EmuVGPU's the states of the vGPU emulators (DEMU), which
// follow it.
const (
	EmuXenguest = "xenguest"
	EmuVGPU     = "vgpu"
)

// progressPrefix starts an info line that reports progress in percent.
const progressPrefix = "progress "

// Message is one line from the helper: its kind and what follows the colon.
type Message struct {
	Kind Kind
	Arg  string
}

// String formats m as its line, without the newline.
func (m Message) String() string { return string(m.Kind) + ":" + m.Arg }

// ParseMessage parses one line from the helper (without its newline). A
// line with no known prefix is errdefs.ErrInvalid.
func ParseMessage(line string) (Message, error) {
	prefix, arg, ok := strings.Cut(line, ":")
	if !ok {
		return Message{}, fmt.Errorf("emu: not a protocol line: %q: %w", clip(line), errdefs.ErrInvalid)
	}
	switch k := Kind(prefix); k {
	case KindSuspend, KindPrepare, KindInfo, KindResult, KindError:
		return Message{Kind: k, Arg: arg}, nil
	}
	return Message{}, fmt.Errorf("emu: unknown message %q: %w", clip(line), errdefs.ErrInvalid)
}

// Progress formats an info line reporting progress in percent (0 to 100).
func Progress(percent int) Message {
	return Message{Kind: KindInfo, Arg: progressPrefix + strconv.Itoa(percent)}
}

// ProgressOf returns the progress (0 to 1) an info message reports, if it
// reports one.
func ProgressOf(m Message) (float64, bool) {
	if m.Kind != KindInfo || !strings.HasPrefix(m.Arg, progressPrefix) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(m.Arg, progressPrefix))
	if err != nil || n < 0 || n > 100 {
		return 0, false
	}
	return float64(n) / 100, true
}

// XenguestResult formats the result of a restore as xenguest prints it:
// "xenguest <store gfn> <console gfn>", followed here by the two event
// channel ports, which the hypervisor interface allocates in Restore
// (on Xen the toolstack passes them in).
func XenguestResult(res hypervisor.BuildResult) Message {
	return Message{Kind: KindResult, Arg: fmt.Sprintf("%s %d %d %d %d", EmuXenguest, res.StoreGFN, res.ConsoleGFN,
		res.StorePort, res.ConsolePort)}
}

// ParseXenguestResult parses the argument of a restore's result line.
func ParseXenguestResult(arg string) (hypervisor.BuildResult, error) {
	f := strings.Fields(arg)
	if len(f) != 5 || f[0] != EmuXenguest {
		return hypervisor.BuildResult{}, fmt.Errorf("emu: result %q: want %q <store gfn> <console gfn> "+
			"<store port> <console port>: %w", clip(arg), EmuXenguest, errdefs.ErrInvalid)
	}
	var n [4]uint64
	for i, s := range f[1:] {
		bits := 64
		if i >= 2 {
			bits = 32
		}
		v, err := strconv.ParseUint(s, 10, bits)
		if err != nil {
			return hypervisor.BuildResult{}, fmt.Errorf("emu: result %q: %q is not a number: %w", clip(arg), s,
				errdefs.ErrInvalid)
		}
		n[i] = v
	}
	return hypervisor.BuildResult{StoreGFN: n[0], ConsoleGFN: n[1], StorePort: uint32(n[2]),
		ConsolePort: uint32(n[3])}, nil
}

// clip shortens what a peer sent for an error message.
func clip(s string) string {
	const maxBytes = 80
	if len(s) > maxBytes {
		return s[:maxBytes] + "..."
	}
	return s
}
