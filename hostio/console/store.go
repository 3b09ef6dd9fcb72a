package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// TypeXenconsoled is console/type for a console this daemon serves; QEMU
// serves the ones of type "ioemu".
const TypeXenconsoled = "xenconsoled"

// Store is the part of a dom0 xenstore client the daemon uses;
// *xenstore.Client is one.
type Store interface {
	Read(ctx context.Context, path string) ([]byte, error)
	Write(ctx context.Context, path string, value []byte) error
	Directory(ctx context.Context, path string) ([]string, error)
	Update(ctx context.Context, fn func(ctx context.Context, tx *xenstore.Tx) error) error
}

// Info is what a domain's console/ keys say.
type Info struct {
	DomID   uint32
	RingRef uint64 // console/ring-ref: the ring's page
	Port    uint32 // console/port: the event channel (unused by the simulator)
	Type    string // console/type; "" is read as xenconsoled
}

// Served reports whether this daemon serves the console (its type is
// xenconsoled or unset).
func (i Info) Served() bool { return i.Type == "" || i.Type == TypeXenconsoled }

// ConsolePath returns /local/domain/<domid>/console.
func ConsolePath(domid uint32) string { return xenstore.DomainPath(domid) + "/console" }

// Lookup reads domain domid's console keys. No console/ring-ref is
// errdefs.ErrNotFound; one that is not a number is errdefs.ErrInvalid.
func Lookup(ctx context.Context, xs Store, domid uint32) (Info, error) {
	dir := ConsolePath(domid)
	v, err := xs.Read(ctx, dir+"/ring-ref")
	if err != nil {
		return Info{}, fmt.Errorf("console: domain %d: ring-ref: %w", domid, err)
	}
	ref, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64)
	if err != nil {
		return Info{}, fmt.Errorf("console: domain %d: ring-ref %q: %w", domid, v, errdefs.ErrInvalid)
	}
	info := Info{DomID: domid, RingRef: ref}
	if v, err := xs.Read(ctx, dir+"/port"); err == nil {
		if p, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 32); err == nil {
			info.Port = uint32(p)
		}
	}
	if v, err := xs.Read(ctx, dir+"/type"); err == nil {
		info.Type = string(v)
	}
	return info, nil
}

// Domains lists the domains under /local/domain, dom0 left out; none when
// there is no /local/domain.
func Domains(ctx context.Context, xs Store) ([]uint32, error) {
	names, err := xs.Directory(ctx, "/local/domain")
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console: listing domains: %w", err)
	}
	out := make([]uint32, 0, len(names))
	for _, n := range names {
		if d, ok := xenstore.ParseDomid(n); ok && d != 0 {
			out = append(out, d)
		}
	}
	return out, nil
}

// WriteTTY writes the pty's path to domain info.DomID's console/tty, in a
// transaction that first checks console/ring-ref still names info's ring:
// a domain torn down meanwhile (its home removed) is not given back a half
// home, and that is errdefs.ErrNotFound.
func WriteTTY(ctx context.Context, xs Store, info Info, path string) error {
	dir := ConsolePath(info.DomID)
	want := strconv.FormatUint(info.RingRef, 10)
	err := xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		v, err := tx.Read(ctx, dir+"/ring-ref")
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(v)) != want {
			return fmt.Errorf("ring-ref is %q now: %w", v, errdefs.ErrNotFound)
		}
		return tx.Write(ctx, dir+"/tty", []byte(path))
	})
	if err != nil {
		return fmt.Errorf("console: domain %d: writing console/tty: %w", info.DomID, err)
	}
	return nil
}
