package hypervisor

import (
	"encoding/binary"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Image header constants.
const (
	// ImageMagic opens every Header record.
	ImageMagic = "xenactor"
	// ImageVersion is the version of the image format this package writes.
	ImageVersion = 1
	// MaxVCPUs is the most vCPUs a domain may have.
	MaxVCPUs = 512
	// maxVCPUArch bounds the architectural state of one vCPU.
	maxVCPUArch = 64 << 10
)

const imageHeaderSize = 80

// ImageHeader is the body of a Header record: the format's magic and version
// and the configuration of the saved domain.
type ImageHeader struct {
	Type      DomainType
	UUID      [16]byte
	MemoryKiB uint64 // memory of the domain; a multiple of 4 KiB
	MaxMemKiB uint64
	TargetKiB uint64
	VCPUs     int
	// StoreGFN and ConsoleGFN are the guest's xenstore and console ring
	// pages, below MemoryKiB.
	StoreGFN   uint64
	ConsoleGFN uint64
}

// Pages returns the number of guest pages MemoryKiB covers.
func (h ImageHeader) Pages() uint64 { return h.MemoryKiB / (PageSize / 1024) }

// MarshalBinary encodes the header.
func (h ImageHeader) MarshalBinary() ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, imageHeaderSize)
	copy(b[0:8], ImageMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], ImageVersion)
	le.PutUint32(b[12:], uint32(h.Type))
	copy(b[16:32], h.UUID[:])
	le.PutUint64(b[32:], h.MemoryKiB)
	le.PutUint64(b[40:], h.MaxMemKiB)
	le.PutUint64(b[48:], h.TargetKiB)
	le.PutUint32(b[56:], uint32(h.VCPUs))
	le.PutUint64(b[64:], h.StoreGFN)
	le.PutUint64(b[72:], h.ConsoleGFN)
	return b, nil
}

// UnmarshalBinary decodes and checks a header; anything malformed is
// errdefs.ErrInvalid.
func (h *ImageHeader) UnmarshalBinary(b []byte) error {
	if len(b) != imageHeaderSize {
		return fmt.Errorf("image header: %d bytes, want %d: %w", len(b), imageHeaderSize, errdefs.ErrInvalid)
	}
	if string(b[0:8]) != ImageMagic {
		return fmt.Errorf("image header: bad magic %q: %w", b[0:8], errdefs.ErrInvalid)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != ImageVersion {
		return fmt.Errorf("image header: version %d, want %d: %w", v, ImageVersion, errdefs.ErrInvalid)
	}
	if le.Uint32(b[60:]) != 0 {
		return fmt.Errorf("image header: reserved field set: %w", errdefs.ErrInvalid)
	}
	t := le.Uint32(b[12:])
	v := le.Uint32(b[56:])
	if t > 0xFF || v > MaxVCPUs {
		return fmt.Errorf("image header: type %d or %d vCPUs out of range: %w", t, v, errdefs.ErrInvalid)
	}
	var out ImageHeader
	out.Type = DomainType(t)
	copy(out.UUID[:], b[16:32])
	out.MemoryKiB = le.Uint64(b[32:])
	out.MaxMemKiB = le.Uint64(b[40:])
	out.TargetKiB = le.Uint64(b[48:])
	out.VCPUs = int(v)
	out.StoreGFN = le.Uint64(b[64:])
	out.ConsoleGFN = le.Uint64(b[72:])
	if err := out.validate(); err != nil {
		return err
	}
	*h = out
	return nil
}

func (h ImageHeader) validate() error {
	switch {
	case !h.Type.Valid():
		return fmt.Errorf("image header: %s: %w", h.Type, errdefs.ErrInvalid)
	case h.VCPUs < 1 || h.VCPUs > MaxVCPUs:
		return fmt.Errorf("image header: %d vCPUs, want 1 to %d: %w", h.VCPUs, MaxVCPUs, errdefs.ErrInvalid)
	case h.MemoryKiB == 0 || h.MemoryKiB%(PageSize/1024) != 0 || h.Pages() > MaxPFN:
		return fmt.Errorf("image header: memory of %d KiB is not a positive whole number of pages: %w", h.MemoryKiB, errdefs.ErrInvalid)
	case h.MemoryKiB > h.MaxMemKiB:
		return fmt.Errorf("image header: memory %d KiB exceeds max %d KiB: %w", h.MemoryKiB, h.MaxMemKiB, errdefs.ErrInvalid)
	case h.StoreGFN >= h.Pages() || h.ConsoleGFN >= h.Pages():
		return fmt.Errorf("image header: ring pages %#x, %#x beyond %d pages: %w", h.StoreGFN, h.ConsoleGFN, h.Pages(), errdefs.ErrInvalid)
	}
	return nil
}

// VCPUContext is the body of a VCPUContext record: one vCPU's state.
type VCPUContext struct {
	ID     uint32
	Online bool
	// Arch is the architectural register state, opaque to this package.
	Arch []byte
}

// MarshalBinary encodes the context: id, flags, then the arch state.
func (c VCPUContext) MarshalBinary() ([]byte, error) {
	if len(c.Arch) > maxVCPUArch {
		return nil, fmt.Errorf("vcpu %d: %d bytes of state exceed %d: %w", c.ID, len(c.Arch), maxVCPUArch, errdefs.ErrInvalid)
	}
	b := make([]byte, 8, 8+len(c.Arch))
	binary.LittleEndian.PutUint32(b[0:], c.ID)
	if c.Online {
		binary.LittleEndian.PutUint32(b[4:], 1)
	}
	return append(b, c.Arch...), nil
}

// UnmarshalBinary decodes a context; Arch aliases b.
func (c *VCPUContext) UnmarshalBinary(b []byte) error {
	if len(b) < 8 || len(b) > 8+maxVCPUArch {
		return fmt.Errorf("vcpu context: %d bytes: %w", len(b), errdefs.ErrInvalid)
	}
	flags := binary.LittleEndian.Uint32(b[4:])
	if flags&^1 != 0 {
		return fmt.Errorf("vcpu context: unknown flags %#x: %w", flags, errdefs.ErrInvalid)
	}
	c.ID = binary.LittleEndian.Uint32(b[0:])
	c.Online = flags&1 != 0
	c.Arch = b[8:]
	return nil
}
