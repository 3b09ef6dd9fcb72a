package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
)

// errAborted is the toolstack's abort, or the end of its control input.
var errAborted = errors.New("aborted by the toolstack")

// run builds the domain args name and prints result: or error: on out. An
// abort line on in, or in's end, cancels the build. It returns the error
// it printed.
func run(ctx context.Context, args emu.BuildArgs, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchControl(in, func() { cancel(errAborted) })
	res, err := build(ctx, args)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		_, _ = fmt.Fprintf(out, "%s\n", emu.Message{Kind: emu.KindError, Arg: oneLine(err.Error())})
		return err
	}
	_, _ = fmt.Fprintf(out, "%s\n", emu.BuildResultMessage(res))
	return nil
}

// watchControl calls abort on an abort line of in, or at its end.
func watchControl(in io.Reader, abort func()) {
	r := bufio.NewReaderSize(in, emu.MaxLineBytes)
	for {
		b, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			abort()
			return
		}
		if strings.TrimSuffix(string(b), "\n") == emu.CmdAbort {
			abort()
			return
		}
	}
}

// build checks the domain and builds it through the hypervisor socket.
func build(ctx context.Context, a emu.BuildArgs) (hypervisor.BuildResult, error) {
	hv, err := hvremote.Dial(ctx, a.Hypervisor)
	if err != nil {
		return hypervisor.BuildResult{}, fmt.Errorf("hypervisor: %w", err)
	}
	defer hv.Close()
	info, err := hv.DomainInfo(ctx, a.DomID)
	if err != nil {
		return hypervisor.BuildResult{}, fmt.Errorf("domain %d: %w", a.DomID, err)
	}
	if want := emu.BuildModeOf(info.Type); want != a.Mode {
		return hypervisor.BuildResult{}, fmt.Errorf("domain %d is %s: want -mode %s", a.DomID, info.Type, want)
	}
	res, err := hv.Build(ctx, a.DomID, a.BuildConfig())
	if err != nil {
		return hypervisor.BuildResult{}, fmt.Errorf("build domain %d: %w", a.DomID, err)
	}
	return res, nil
}

// oneLine keeps a message on one protocol line.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > emu.MaxLineBytes/2 {
		s = s[:emu.MaxLineBytes/2]
	}
	return s
}
