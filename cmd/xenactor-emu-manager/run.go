package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
)

// imageBufferBytes is the buffer between the hypervisor and the image.
const imageBufferBytes = 1 << 20

// errAborted is the toolstack's abort.
var errAborted = errors.New("aborted by the toolstack")

// errControlClosed is the end of the control channel before the
// operation's end: the toolstack is gone.
var errControlClosed = errors.New("the control channel closed")

// helper is one run: its arguments and its control channel.
type helper struct {
	args emu.Args
	cmds <-chan string // the toolstack's lines; closed at the channel's end
	mu   sync.Mutex
	out  io.Writer
	last int // the last progress printed
}

// run does what args say, speaking the protocol on in and out, and prints
// result: or error: last. It returns the error it printed.
func run(ctx context.Context, args emu.Args, in io.Reader, out io.Writer) error {
	cmds, done := make(chan string), make(chan struct{})
	defer close(done)
	go readCommands(in, cmds, done)
	h := &helper{args: args, cmds: cmds, out: out, last: -1}
	res, err := h.do(ctx)
	if err != nil {
		h.print(emu.Message{Kind: emu.KindError, Arg: oneLine(err.Error())})
		return err
	}
	h.print(res)
	return nil
}

// readCommands sends the lines of in to cmds until in ends or done is
// closed, and closes cmds at in's end.
func readCommands(in io.Reader, cmds chan<- string, done <-chan struct{}) {
	defer close(cmds)
	r := bufio.NewReaderSize(in, emu.MaxLineBytes)
	for {
		b, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		select {
		case cmds <- strings.TrimSuffix(string(b), "\n"):
		case <-done:
			return
		}
	}
}

// print writes one message line.
func (h *helper) print(m emu.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = fmt.Fprintf(h.out, "%s\n", m)
}

// progress prints progress when its percent changed.
func (h *helper) progress(percent int) {
	h.mu.Lock()
	changed := percent != h.last
	h.last = percent
	h.mu.Unlock()
	if changed {
		h.print(emu.Progress(percent))
	}
}

// do runs the save or the restore and returns its result line.
func (h *helper) do(ctx context.Context) (emu.Message, error) {
	a := h.args
	hv, err := hvremote.Dial(ctx, a.Hypervisor)
	if err != nil {
		return emu.Message{}, fmt.Errorf("hypervisor: %w", err)
	}
	defer hv.Close()
	info, err := hv.DomainInfo(ctx, a.DomID)
	if err != nil {
		return emu.Message{}, fmt.Errorf("domain %d: %w", a.DomID, err)
	}
	img, err := h.openImage()
	if err != nil {
		return emu.Message{}, err
	}
	defer img.Close()
	if a.Mode.Saving() {
		return h.save(ctx, hv, info, img)
	}
	return h.restore(ctx, hv, img)
}

// openImage opens the image descriptor or path.
func (h *helper) openImage() (*os.File, error) {
	a := h.args
	if a.ImageFD != 0 {
		return os.NewFile(uintptr(a.ImageFD), "image"), nil
	}
	flags := os.O_RDONLY
	if a.Mode.Saving() {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(a.Image, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return f, nil
}

// await waits for the toolstack's command want.
func (h *helper) await(ctx context.Context, want string) error {
	select {
	case c, ok := <-h.cmds:
		switch {
		case !ok:
			return fmt.Errorf("waiting for %q: %w", want, errControlClosed)
		case c == emu.CmdAbort:
			return errAborted
		case c != want:
			return fmt.Errorf("waiting for %q: unexpected command %q", want, c)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// watch cancels the operation on an abort or the end of the control
// channel, and returns why it did, once the operation ended.
func (h *helper) watch(ctx context.Context) (context.Context, func() error) {
	ctx, cancel := context.WithCancel(ctx)
	var why error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case c, ok := <-h.cmds:
				if !ok || c == emu.CmdAbort {
					why = errAborted
					if !ok {
						why = errControlClosed
					}
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, func() error {
		cancel()
		<-done
		return why
	}
}

// save asks for the suspend, then saves the domain into img.
func (h *helper) save(ctx context.Context, hv hypervisor.Hypervisor, info hypervisor.DomainInfo, img *os.File) (emu.Message, error) {
	id := h.args.DomID
	h.print(emu.Message{Kind: emu.KindSuspend})
	if err := h.await(ctx, emu.CmdDone); err != nil {
		return emu.Message{}, err
	}
	sctx, stop := h.watch(ctx)
	w := bufio.NewWriterSize(img, imageBufferBytes)
	err := hv.Save(sctx, id, &counter{w: w, total: int64(info.MemoryKiB) << 10, report: h.progress},
		hypervisor.SaveOptions{})
	if why := stop(); why != nil {
		return emu.Message{}, why
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return emu.Message{}, fmt.Errorf("save domain %d: %w", id, err)
	}
	h.progress(100)
	if h.args.VGPU {
		// xenguest's part is in the image: the toolstack appends the
		// vGPU emulators' states, at the descriptor's shared offset.
		h.print(emu.Message{Kind: emu.KindPrepare, Arg: emu.EmuVGPU})
		if err := h.await(ctx, emu.CmdDone); err != nil {
			return emu.Message{}, fmt.Errorf("prepare:%s: %w", emu.EmuVGPU, err)
		}
	}
	return emu.Message{Kind: emu.KindResult, Arg: emu.EmuXenguest}, nil
}

// restore waits for restore:xenguest, then restores img into the domain.
func (h *helper) restore(ctx context.Context, hv hypervisor.Hypervisor, img *os.File) (emu.Message, error) {
	id := h.args.DomID
	if err := h.await(ctx, emu.CmdRestorePrefix+emu.EmuXenguest); err != nil {
		return emu.Message{}, err
	}
	var total int64
	if fi, err := img.Stat(); err == nil && fi.Mode().IsRegular() {
		total = fi.Size()
	}
	rctx, stop := h.watch(ctx)
	br := bufio.NewReaderSize(&counter{r: img, total: total, report: h.progress}, imageBufferBytes)
	// Only xenguest's part goes to the hypervisor; what follows it (the
	// vGPU emulators' states) is the toolstack's to read.
	res, err := hv.Restore(rctx, id, hypervisor.ImageReader(br))
	if why := stop(); why != nil {
		return emu.Message{}, why
	}
	if err != nil {
		return emu.Message{}, fmt.Errorf("restore domain %d: %w", id, err)
	}
	h.progress(100)
	if !h.args.VGPU {
		return emu.XenguestResult(res), nil
	}
	// Leave the descriptor's shared offset at the end of xenguest's part,
	// where the toolstack reads the vGPU emulators' states.
	if _, err := img.Seek(-int64(br.Buffered()), io.SeekCurrent); err != nil {
		return emu.Message{}, fmt.Errorf("image: %w", err)
	}
	h.print(emu.XenguestResult(res))
	// The stand-in DEMU takes its state from the toolstack when it
	// starts: the step only acknowledges it.
	if err := h.await(ctx, emu.CmdRestorePrefix+emu.EmuVGPU); err != nil {
		return emu.Message{}, err
	}
	return emu.Message{Kind: emu.KindResult, Arg: emu.EmuVGPU}, nil
}

// counter passes bytes through and reports the percent of total done,
// at most 99 until the end.
type counter struct {
	w      io.Writer
	r      io.Reader
	n      int64
	total  int64
	report func(int)
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.add(n)
	return n, err
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(n)
	return n, err
}

func (c *counter) add(n int) {
	c.n += int64(n)
	if c.total > 0 {
		c.report(int(min(99, c.n*100/c.total)))
	}
}

// oneLine makes a message fit on one protocol line.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > emu.MaxLineBytes-16 {
		s = s[:emu.MaxLineBytes-16]
	}
	return s
}
