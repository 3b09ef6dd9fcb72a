package emu

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The build modes of xenguest (-mode), one per domain type.
const (
	ModePVBuild  Mode = "pv_build"
	ModePVHBuild Mode = "pvh_build"
	ModeHVMBuild Mode = "hvm_build"
)

// Building reports whether m is a build mode.
func (m Mode) Building() bool { return m == ModePVBuild || m == ModePVHBuild || m == ModeHVMBuild }

// BuildModeOf returns the build mode of a domain type.
func BuildModeOf(t hypervisor.DomainType) Mode {
	switch t {
	case hypervisor.DomainTypeHVM:
		return ModeHVMBuild
	case hypervisor.DomainTypePVH:
		return ModePVHBuild
	}
	return ModePVBuild
}

// KiBPerMiB converts xenguest's MiB into the hypervisor interface's KiB.
const KiBPerMiB = 1024

// BuildArgs are the arguments of a domain build (xenguest -mode *_build),
// named as xenopsd passes xenguest's, with -hypervisor added for the
// socket the helper reaches the hypervisor on.
type BuildArgs struct {
	Mode  Mode
	DomID hypervisor.DomID
	// MemMaxMiB is the domain's maximum (-mem_max_mib), MemStartMiB what
	// it starts with (-mem_start_mib), also its balloon target.
	MemMaxMiB   uint64
	MemStartMiB uint64
	// Image is the kernel (PV, PVH) or firmware (HVM); Ramdisk and
	// Cmdline are optional.
	Image   string
	Ramdisk string
	Cmdline string
	// StorePort and ConsolePort are accepted for xenopsd's command line
	// and not used: the hypervisor interface allocates the two event
	// channels in Build, and the result line carries them back.
	StorePort   uint32
	ConsolePort uint32
	// StoreDomID and ConsoleDomID serve the rings (Dom0).
	StoreDomID   hypervisor.DomID
	ConsoleDomID hypervisor.DomID
	// Hypervisor is the hvremote socket.
	Hypervisor string
	// ControlInFD and ControlOutFD carry the protocol; ParseBuildArgs
	// defaults them to 0 and 1 (stdin, stdout).
	ControlInFD  int
	ControlOutFD int
}

// Argv returns a's command-line arguments (the control channel is left at
// stdin and stdout).
func (a BuildArgs) Argv() []string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	argv := []string{"-mode", string(a.Mode), "-domid", u(uint64(a.DomID)),
		"-mem_max_mib", u(a.MemMaxMiB), "-mem_start_mib", u(a.MemStartMiB), "-image", a.Image,
		"-store_port", u(uint64(a.StorePort)), "-console_port", u(uint64(a.ConsolePort)),
		"-store_domid", u(uint64(a.StoreDomID)), "-console_domid", u(uint64(a.ConsoleDomID)),
		"-hypervisor", a.Hypervisor}
	if a.Ramdisk != "" {
		argv = append(argv, "-ramdisk", a.Ramdisk)
	}
	if a.Cmdline != "" {
		argv = append(argv, "-cmdline", a.Cmdline)
	}
	return argv
}

// BuildConfig returns the hypervisor's build configuration a describes:
// the image is the kernel whatever the mode, as the daemon's own build
// passes it.
func (a BuildArgs) BuildConfig() hypervisor.BuildConfig {
	return hypervisor.BuildConfig{Kernel: a.Image, Ramdisk: a.Ramdisk, Cmdline: a.Cmdline,
		MemoryKiB: a.MemStartMiB * KiBPerMiB, TargetKiB: a.MemStartMiB * KiBPerMiB, ConsoleDomid: a.ConsoleDomID,
		StoreDomid: a.StoreDomID}
}

// ParseBuildArgs parses a domain build's command line (without the
// program name). Errors wrap errdefs.ErrInvalid.
func ParseBuildArgs(argv []string) (BuildArgs, error) {
	var a BuildArgs
	var mode string
	var domid, storeDom, consoleDom int64 = -1, 0, 0
	var storePort, consolePort uint64
	fs := flag.NewFlagSet("xenguest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&mode, "mode", "", "pv_build, pvh_build or hvm_build")
	fs.Int64Var(&domid, "domid", -1, "the domain")
	fs.Uint64Var(&a.MemMaxMiB, "mem_max_mib", 0, "the domain's maximum memory")
	fs.Uint64Var(&a.MemStartMiB, "mem_start_mib", 0, "the memory the domain starts with")
	fs.StringVar(&a.Image, "image", "", "the kernel or firmware")
	fs.StringVar(&a.Ramdisk, "ramdisk", "", "the initial ramdisk")
	fs.StringVar(&a.Cmdline, "cmdline", "", "the kernel command line")
	fs.Uint64Var(&storePort, "store_port", 0, "accepted, not used")
	fs.Uint64Var(&consolePort, "console_port", 0, "accepted, not used")
	fs.Int64Var(&storeDom, "store_domid", 0, "the domain serving xenstore")
	fs.Int64Var(&consoleDom, "console_domid", 0, "the domain serving the console")
	fs.StringVar(&a.Hypervisor, "hypervisor", "", "the hypervisor's socket (hvremote)")
	fs.IntVar(&a.ControlInFD, "controlinfd", 0, "the descriptor commands come in on")
	fs.IntVar(&a.ControlOutFD, "controloutfd", 1, "the descriptor messages go out on")
	bad := func(format string, v ...any) (BuildArgs, error) {
		return BuildArgs{}, fmt.Errorf("xenguest: arguments: "+format+": %w", append(v, errdefs.ErrInvalid)...)
	}
	if err := fs.Parse(argv); err != nil {
		return bad("%v", err)
	}
	guest := func(d int64) bool { return d > 0 && d < int64(hypervisor.DomIDFirstReserved) }
	switch {
	case fs.NArg() > 0:
		return bad("unexpected %q", fs.Arg(0))
	case !Mode(mode).Building():
		return bad("-mode %q: want pv_build, pvh_build or hvm_build", mode)
	case !guest(domid):
		return bad("-domid %d: not a guest domain", domid)
	case a.MemStartMiB == 0 || a.MemStartMiB > a.MemMaxMiB:
		return bad("-mem_start_mib %d: want within (0, -mem_max_mib %d]", a.MemStartMiB, a.MemMaxMiB)
	case a.Image == "":
		return bad("no -image")
	case storePort > uint64(^uint32(0)) || consolePort > uint64(^uint32(0)):
		return bad("a port out of range")
	case storeDom < 0 || storeDom >= int64(hypervisor.DomIDFirstReserved) ||
		consoleDom < 0 || consoleDom >= int64(hypervisor.DomIDFirstReserved):
		return bad("-store_domid %d, -console_domid %d: not domains", storeDom, consoleDom)
	case a.ControlInFD < 0 || a.ControlOutFD < 0:
		return bad("a negative descriptor")
	case a.Hypervisor == "":
		return bad("no -hypervisor socket")
	}
	a.Mode, a.DomID = Mode(mode), hypervisor.DomID(domid)
	a.StorePort, a.ConsolePort = uint32(storePort), uint32(consolePort)
	a.StoreDomID, a.ConsoleDomID = hypervisor.DomID(storeDom), hypervisor.DomID(consoleDom)
	return a, nil
}

// BuildResultMessage formats the result of a build as xenguest prints it:
// "<store gfn> <console gfn>", followed here by the two event channel
// ports, which the hypervisor interface allocates in Build (on Xen the
// toolstack passes them in).
func BuildResultMessage(res hypervisor.BuildResult) Message {
	return Message{Kind: KindResult, Arg: fmt.Sprintf("%d %d %d %d", res.StoreGFN, res.ConsoleGFN, res.StorePort,
		res.ConsolePort)}
}

// ParseBuildResult parses the argument of a build's result line.
func ParseBuildResult(arg string) (hypervisor.BuildResult, error) {
	f := strings.Fields(arg)
	if len(f) != 4 {
		return hypervisor.BuildResult{}, fmt.Errorf("xenguest: result %q: want <store gfn> <console gfn> "+
			"<store port> <console port>: %w", clip(arg), errdefs.ErrInvalid)
	}
	return ParseXenguestResult(EmuXenguest + " " + arg)
}

// BuildRun is a domain build to run in a xenguest helper.
type BuildRun struct {
	// Path is the executable; Args its arguments.
	Path string
	Args BuildArgs
	// Timeout bounds the wait for the result (an info line that reports
	// more progress restarts it) and for the exit after it; 0 means
	// DefaultStepTimeout.
	Timeout time.Duration
	// AbortGrace is how long the helper has to exit after abort (a
	// failure or a cancel) before its process group is killed; 0 means
	// DefaultAbortGrace.
	AbortGrace time.Duration
	// OnInfo, if set, sees every info line.
	OnInfo func(Message)
}

// Build runs a domain build in the helper and returns its result. The
// helper runs in its own process group, which is killed and reaped before
// Build returns, whatever happens. A helper that exits without a result
// (or with a status other than 0 after it) is errdefs.ErrUnavailable, as
// is its error: line (the error quotes it); one that prints nothing
// within Timeout is errdefs.ErrTimeout; a line that is not the protocol, a
// result that does not parse, or an exit 0 without a result is
// errdefs.ErrInvalid; a cancel is ctx's error.
func Build(ctx context.Context, run BuildRun) (hypervisor.BuildResult, error) {
	name := "xenguest " + string(run.Args.Mode)
	s, err := Start(Config{Path: run.Path, Argv: run.Args.Argv(), Name: name, StepTimeout: run.Timeout,
		AbortGrace: run.AbortGrace, OnInfo: run.OnInfo})
	if err != nil {
		return hypervisor.BuildResult{}, err
	}
	defer s.Close()
	m, err := s.Receive(ctx)
	switch {
	case err != nil && errors.Is(err, errdefs.ErrUnavailable) && s.exitedCleanly():
		return hypervisor.BuildResult{}, fmt.Errorf("%s: exited 0 without a result: %w", s.name, errdefs.ErrInvalid)
	case err != nil:
		return hypervisor.BuildResult{}, err
	case m.Kind == KindError:
		return hypervisor.BuildResult{}, fmt.Errorf("%s failed: %s: %w", s.name, m.Arg, errdefs.ErrUnavailable)
	case m.Kind != KindResult:
		return hypervisor.BuildResult{}, fmt.Errorf("%s printed %q, expected result: %w", s.name, m.String(),
			errdefs.ErrInvalid)
	}
	res, err := ParseBuildResult(m.Arg)
	if err != nil {
		return hypervisor.BuildResult{}, fmt.Errorf("%s: %w", s.name, err)
	}
	if err := s.Wait(ctx); err != nil {
		return hypervisor.BuildResult{}, err
	}
	return res, nil
}
