package xenstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// errMalformed marks a reply whose payload does not parse.
var errMalformed = errors.New("malformed reply")

// Do sends a raw request and returns its reply. It assigns m.ReqID and keeps
// m.Op, m.TxID and m.Payload. An ERROR reply is returned as *Error with
// Op m.Op and Path the first string of m.Payload.
func (c *Client) Do(ctx context.Context, m Message) (Message, error) {
	return c.exchange(ctx, m.Op, m.TxID, nil, m.Payload)
}

// Handle runs operations inside one transaction (tx id 0: none). A Client
// embeds the Handle of no transaction and a Tx the Handle of its own.
type Handle struct {
	c  *Client
	tx uint32
}

// do validates path and exchanges op with payload args... + tail.
func (h Handle) do(ctx context.Context, op Op, path string, args []string, tail []byte) (Message, error) {
	if h.c == nil {
		return Message{}, fmt.Errorf("xenstore %s %s: zero Handle: %w", op, path, errdefs.ErrInvalid)
	}
	if !ValidPath(path, true) {
		return Message{}, fmt.Errorf("xenstore %s %q: invalid path: %w", op, path, errdefs.ErrInvalid)
	}
	return h.c.exchange(ctx, op, h.tx, args, tail)
}

// Read returns the value of the node at path.
func (h Handle) Read(ctx context.Context, path string) ([]byte, error) {
	m, err := h.do(ctx, OpRead, path, []string{path}, nil)
	if err != nil {
		return nil, err
	}
	return m.Payload, nil
}

// Write sets the value of the node at path, creating it and missing parents.
func (h Handle) Write(ctx context.Context, path string, value []byte) error {
	_, err := h.do(ctx, OpWrite, path, []string{path}, value)
	return err
}

// Mkdir creates the node at path (and missing parents) with an empty value;
// an existing node is left as it is.
func (h Handle) Mkdir(ctx context.Context, path string) error {
	_, err := h.do(ctx, OpMkdir, path, []string{path}, nil)
	return err
}

// Rm removes the node at path and everything below it.
func (h Handle) Rm(ctx context.Context, path string) error {
	_, err := h.do(ctx, OpRm, path, []string{path}, nil)
	return err
}

// Directory returns the names of the children of path. If the list is too
// big for one reply (E2BIG), it is fetched with DirectoryPart instead.
func (h Handle) Directory(ctx context.Context, path string) ([]string, error) {
	m, err := h.do(ctx, OpDirectory, path, []string{path}, nil)
	var xe *Error
	if errors.As(err, &xe) && xe.Errno == E2BIG {
		return h.DirectoryPart(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	return splitNames(m.Payload), nil
}

// splitNames splits NUL-terminated names; an empty payload or a lone NUL is
// an empty list.
func splitNames(p []byte) []string {
	if len(p) > 0 && p[len(p)-1] == 0 {
		p = p[:len(p)-1]
	}
	if len(p) == 0 {
		return nil
	}
	out := make([]string, 0, bytes.Count(p, []byte{0})+1)
	for len(p) > 0 {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			i = len(p)
		}
		out = append(out, string(p[:i]))
		p = p[min(i+1, len(p)):]
	}
	return out
}

// DirectoryPart returns the children of path with DIRECTORY_PART requests,
// part by part, starting over if the node's generation changes in between.
func (h Handle) DirectoryPart(ctx context.Context, path string) ([]string, error) {
	var (
		names []string
		gen   string
		off   int
	)
	for {
		m, err := h.do(ctx, OpDirectoryPart, path, []string{path, strconv.Itoa(off)}, nil)
		if err != nil {
			return nil, err
		}
		p := m.Payload
		i := bytes.IndexByte(p, 0)
		if i <= 0 {
			return nil, fmt.Errorf("xenstore %s %s: no generation in %q: %w", OpDirectoryPart, path, p, errMalformed)
		}
		g, rest := string(p[:i]), p[i+1:]
		if off > 0 && g != gen {
			names, gen, off = nil, "", 0
			continue
		}
		gen = g
		if len(rest) > 0 && rest[len(rest)-1] != 0 {
			return nil, fmt.Errorf("xenstore %s %s: unterminated name in %q: %w", OpDirectoryPart, path, p, errMalformed)
		}
		last := len(rest) == 0 || (rest[len(rest)-1] == 0 && (len(rest) == 1 || rest[len(rest)-2] == 0))
		if last && len(rest) > 0 {
			rest = rest[:len(rest)-1] // the end marker
		}
		part := splitNames(rest)
		if !last && len(part) == 0 {
			return nil, fmt.Errorf("xenstore %s %s: empty part at offset %d: %w", OpDirectoryPart, path, off, errMalformed)
		}
		for _, n := range part {
			off += len(n) + 1
		}
		names = append(names, part...)
		if last {
			return names, nil
		}
	}
}

// Exists reports whether the node at path exists (reads it; ENOENT is false).
func (h Handle) Exists(ctx context.Context, path string) (bool, error) {
	_, err := h.Read(ctx, path)
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// GetPerms returns the permission list of the node at path; the first entry
// names the owner.
func (h Handle) GetPerms(ctx context.Context, path string) ([]Perm, error) {
	m, err := h.do(ctx, OpGetPerms, path, []string{path}, nil)
	if err != nil {
		return nil, err
	}
	ps, err := ParsePerms(splitNames(m.Payload))
	if err != nil {
		return nil, fmt.Errorf("xenstore %s %s: %w: %w", OpGetPerms, path, err, errMalformed)
	}
	return ps, nil
}

// SetPerms replaces the permission list of the node at path.
func (h Handle) SetPerms(ctx context.Context, path string, perms []Perm) error {
	if len(perms) == 0 {
		return fmt.Errorf("xenstore %s %s: empty permission list: %w", OpSetPerms, path, errdefs.ErrInvalid)
	}
	_, err := h.do(ctx, OpSetPerms, path, append([]string{path}, PermStrings(perms)...), nil)
	return err
}

// Introduce tells the daemon about a domain's ring page (gfn) and event
// channel, so it starts serving the domain.
func (c *Client) Introduce(ctx context.Context, domid uint32, gfn uint64, evtchn uint32) error {
	_, err := c.exchange(ctx, OpIntroduce, 0,
		[]string{fmtDomid(domid), strconv.FormatUint(gfn, 10), fmtDomid(evtchn)}, nil)
	return err
}

// fmtDomid formats a domain id (or an event channel) for a payload.
func fmtDomid(d uint32) string { return strconv.FormatUint(uint64(d), 10) }

// Release tells the daemon a domain is gone.
func (c *Client) Release(ctx context.Context, domid uint32) error {
	_, err := c.exchange(ctx, OpRelease, 0, []string{fmtDomid(domid)}, nil)
	return err
}

// GetDomainPath returns the daemon's home path of a domain (/local/domain/N).
func (c *Client) GetDomainPath(ctx context.Context, domid uint32) (string, error) {
	m, err := c.exchange(ctx, OpGetDomainPath, 0, []string{fmtDomid(domid)}, nil)
	if err != nil {
		return "", err
	}
	return FirstString(m.Payload), nil
}

// IsDomainIntroduced reports whether the daemon knows the domain.
func (c *Client) IsDomainIntroduced(ctx context.Context, domid uint32) (bool, error) {
	m, err := c.exchange(ctx, OpIsDomainIntroduced, 0, []string{fmtDomid(domid)}, nil)
	if err != nil {
		return false, err
	}
	switch FirstString(m.Payload) {
	case "T":
		return true, nil
	case "F":
		return false, nil
	}
	return false, fmt.Errorf("xenstore %s %d: reply %q: %w", OpIsDomainIntroduced, domid, m.Payload, errMalformed)
}

// Resume clears a domain's shutdown flag after a suspend was cancelled.
func (c *Client) Resume(ctx context.Context, domid uint32) error {
	_, err := c.exchange(ctx, OpResume, 0, []string{fmtDomid(domid)}, nil)
	return err
}

// SetTarget gives domid the privileges of target (a device model over its guest).
func (c *Client) SetTarget(ctx context.Context, domid, target uint32) error {
	_, err := c.exchange(ctx, OpSetTarget, 0, []string{fmtDomid(domid), fmtDomid(target)}, nil)
	return err
}

// GetQuota returns the global value of the named quota.
func (c *Client) GetQuota(ctx context.Context, name string) (uint64, error) {
	return c.getQuota(ctx, []string{name})
}

// GetDomainQuota returns the named quota of one domain.
func (c *Client) GetDomainQuota(ctx context.Context, domid uint32, name string) (uint64, error) {
	return c.getQuota(ctx, []string{fmtDomid(domid), name})
}

func (c *Client) getQuota(ctx context.Context, args []string) (uint64, error) {
	m, err := c.exchange(ctx, OpGetQuota, 0, args, nil)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(FirstString(m.Payload), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("xenstore %s %s: reply %q: %w", OpGetQuota, args[len(args)-1], m.Payload, errMalformed)
	}
	return v, nil
}

// SetQuota sets the global value of the named quota.
func (c *Client) SetQuota(ctx context.Context, name string, value uint64) error {
	_, err := c.exchange(ctx, OpSetQuota, 0, []string{name, strconv.FormatUint(value, 10)}, nil)
	return err
}

// SetDomainQuota sets the named quota of one domain.
func (c *Client) SetDomainQuota(ctx context.Context, domid uint32, name string, value uint64) error {
	_, err := c.exchange(ctx, OpSetQuota, 0,
		[]string{fmtDomid(domid), name, strconv.FormatUint(value, 10)}, nil)
	return err
}

// Control sends a CONTROL command ("log", "quota", ...) and returns the
// daemon's text reply without its trailing NUL.
func (c *Client) Control(ctx context.Context, cmd string, args ...string) (string, error) {
	m, err := c.exchange(ctx, OpControl, 0, append([]string{cmd}, args...), nil)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(m.Payload, []byte{0})), nil
}

// IsQuotaError reports whether err is or wraps an ERROR reply for a quota
// hit: ENOSPC, EQUOTA or E2BIG.
func IsQuotaError(err error) bool {
	var xe *Error
	if errors.As(err, &xe) {
		return xe.Errno.IsQuota()
	}
	var en Errno
	return errors.As(err, &en) && en.IsQuota()
}

// MkdirPerms makes the directory path and sets its permissions, so that
// the keys written under it inherit them.
func (h Handle) MkdirPerms(ctx context.Context, path string, perms []Perm) error {
	if err := h.Mkdir(ctx, path); err != nil {
		return err
	}
	return h.SetPerms(ctx, path, perms)
}

// WriteKeys writes each key-value pair of keys under dir, in order.
func (h Handle) WriteKeys(ctx context.Context, dir string, keys [][2]string) error {
	for _, kv := range keys {
		if err := h.Write(ctx, dir+"/"+kv[0], []byte(kv[1])); err != nil {
			return err
		}
	}
	return nil
}
