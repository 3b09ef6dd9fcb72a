package emu

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Mode is what the helper does, named as xenopsd names it (-mode).
type Mode string

// The modes.
const (
	ModeSave       Mode = "save"
	ModeHVMSave    Mode = "hvm_save"
	ModeRestore    Mode = "restore"
	ModeHVMRestore Mode = "hvm_restore"
)

// Saving reports whether m is a save mode.
func (m Mode) Saving() bool { return m == ModeSave || m == ModeHVMSave }

// valid reports whether m is one of the modes.
func (m Mode) valid() bool { return m.Saving() || m == ModeRestore || m == ModeHVMRestore }

// ImageFD is the descriptor the toolstack passes the image on: the first
// of exec.Cmd.ExtraFiles.
const ImageFD = 3

// Args are the helper's arguments, as xenopsd passes emu-manager's, with
// -hypervisor added for the socket it reaches the hypervisor on (on Xen,
// privcmd needs no argument).
type Args struct {
	Mode  Mode
	DomID hypervisor.DomID
	// ImageFD is the open image (-fd), 0 for none; Image a path (-image)
	// to open instead.
	ImageFD int
	Image   string
	// Hypervisor is the hvremote socket.
	Hypervisor string
	// ControlInFD and ControlOutFD carry the protocol (-controlinfd,
	// -controloutfd); ParseArgs defaults them to 0 and 1 (stdin, stdout).
	ControlInFD  int
	ControlOutFD int
	// Live is accepted for xenopsd's -live and not used: the helper saves
	// a suspended domain.
	Live bool
	// VGPU is xenopsd's -dm vgpu: the domain has vGPUs, whose emulator's
	// (DEMU's) state follows xenguest's in the image. A save then prints
	// prepare:vgpu after xenguest's part, and a restore waits for
	// restore:vgpu after restore:xenguest. -dm qemu is accepted and
	// ignored: the device model's state is not in the image.
	VGPU bool
}

// Argv returns a's command-line arguments (the control channel is left at
// stdin and stdout).
func (a Args) Argv() []string {
	argv := []string{"-mode", string(a.Mode), "-domid", strconv.FormatUint(uint64(a.DomID), 10),
		"-hypervisor", a.Hypervisor}
	if a.ImageFD != 0 {
		argv = append(argv, "-fd", strconv.Itoa(a.ImageFD))
	}
	if a.Image != "" {
		argv = append(argv, "-image", a.Image)
	}
	if a.Live {
		argv = append(argv, "-live")
	}
	if a.VGPU {
		argv = append(argv, "-dm", EmuVGPU)
	}
	return argv
}

// ParseArgs parses the helper's command line (without the program name).
// Errors wrap errdefs.ErrInvalid.
func ParseArgs(argv []string) (Args, error) {
	var a Args
	var mode string
	var domid int64 = -1
	fs := flag.NewFlagSet("emu-manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&mode, "mode", "", "save, hvm_save, restore or hvm_restore")
	fs.Int64Var(&domid, "domid", -1, "the domain")
	fs.IntVar(&a.ImageFD, "fd", 0, "the image's descriptor")
	fs.StringVar(&a.Image, "image", "", "the image's path, instead of -fd")
	fs.StringVar(&a.Hypervisor, "hypervisor", "", "the hypervisor's socket (hvremote)")
	fs.IntVar(&a.ControlInFD, "controlinfd", 0, "the descriptor commands come in on")
	fs.IntVar(&a.ControlOutFD, "controloutfd", 1, "the descriptor messages go out on")
	fs.BoolVar(&a.Live, "live", false, "accepted, not used")
	fs.Func("dm", "an emulator with state in the image: vgpu (qemu is accepted and ignored)", func(v string) error {
		switch v {
		case EmuVGPU:
			a.VGPU = true
		case "qemu":
		default:
			return fmt.Errorf("-dm %q: want vgpu or qemu", v)
		}
		return nil
	})
	bad := func(format string, v ...any) (Args, error) {
		return Args{}, fmt.Errorf("emu: arguments: "+format+": %w", append(v, errdefs.ErrInvalid)...)
	}
	if err := fs.Parse(argv); err != nil {
		return bad("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected %q", fs.Arg(0))
	case !Mode(mode).valid():
		return bad("-mode %q: want save, hvm_save, restore or hvm_restore", mode)
	case domid <= 0 || domid >= int64(hypervisor.DomIDFirstReserved):
		return bad("-domid %d: not a guest domain", domid)
	case (a.ImageFD == 0) == (a.Image == ""):
		return bad("want one of -fd and -image")
	case a.ImageFD < 0 || a.ControlInFD < 0 || a.ControlOutFD < 0:
		return bad("a negative descriptor")
	case a.Hypervisor == "":
		return bad("no -hypervisor socket")
	}
	a.Mode, a.DomID = Mode(mode), hypervisor.DomID(domid)
	return a, nil
}
