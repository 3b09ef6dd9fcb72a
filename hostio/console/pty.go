package console

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// ptmx is the pseudo-terminal multiplexer.
const ptmx = "/dev/ptmx"

// PTY is a pseudo-terminal allocated from /dev/ptmx. The daemon writes
// the guest's output to its master and reads what a user types on the
// slave (Path, the console/tty of the domain) from it. Like xenconsoled,
// it keeps the slave open itself, in raw mode, so that the master does not
// read EIO while no user has the console open; what the guest prints then
// waits in the terminal's buffer for the next reader, up to the kernel's
// buffer size, and more is dropped.
type PTY struct {
	master *os.File
	slave  *os.File
	path   string
}

// OpenPTY allocates a pseudo-terminal: it opens /dev/ptmx, asks its number
// (TIOCGPTN), unlocks the slave (TIOCSPTLCK) and opens it in raw mode.
func OpenPTY() (_ *PTY, err error) {
	m, err := os.OpenFile(ptmx, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("console: opening %s: %w", ptmx, errdefs.ErrUnavailable)
	}
	defer func() {
		if err != nil {
			_ = m.Close()
		}
	}()
	var n uint32
	if err := control(m, func(fd int) error {
		var err error
		if n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN); err != nil {
			return fmt.Errorf("TIOCGPTN: %w", err)
		}
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("TIOCSPTLCK: %w", err)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("console: allocating a pty: %w: %w", err, errdefs.ErrUnavailable)
	}
	path := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	s, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("console: opening the pty's slave: %w: %w", err, errdefs.ErrUnavailable)
	}
	if err := control(s, makeRaw); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("console: raw mode on %s: %w: %w", path, err, errdefs.ErrUnavailable)
	}
	return &PTY{master: m, slave: s, path: path}, nil
}

// control runs fn on f's descriptor without making it blocking (as Fd
// would).
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// makeRaw sets the terminal of fd to raw mode, as cfmakeraw(3): no echo,
// no line editing, no signals, no translation of carriage returns.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Path is the slave's path, /dev/pts/<n>: what console/tty says.
func (p *PTY) Path() string { return p.path }

// Read reads what was typed on the slave. It blocks until there is some,
// and returns an error once the PTY is closed.
func (p *PTY) Read(b []byte) (int, error) { return p.master.Read(b) }

// Write writes b to the master without blocking: what the terminal's
// buffer cannot take now is dropped, and n says how much was taken. A
// console nobody reads never holds the daemon up.
func (p *PTY) Write(b []byte) (n int, err error) {
	rc, err := p.master.SyscallConn()
	if err != nil {
		return 0, err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := unix.Write(int(fd), b[n:])
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if m > 0 {
				n += m
			}
			if err != nil {
				if !errors.Is(err, syscall.EAGAIN) {
					werr = err
				}
				break
			}
			if m <= 0 {
				break
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// Close closes both ends; a Read in progress returns.
func (p *PTY) Close() error {
	return errors.Join(p.master.Close(), p.slave.Close())
}
