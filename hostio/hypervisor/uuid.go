package hypervisor

import (
	"encoding/hex"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// ParseUUID parses a domain handle in canonical 8-4-4-4-12 hex form (either
// case) into its 16 bytes (xen_domain_handle_t).
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("uuid %q: not in 8-4-4-4-12 form: %w", s, errdefs.ErrInvalid)
	}
	var digits [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		digits[n] = s[i]
		n++
	}
	if _, err := hex.Decode(u[:], digits[:]); err != nil {
		return u, fmt.Errorf("uuid %q: not hex: %w", s, errdefs.ErrInvalid)
	}
	return u, nil
}

// FormatUUID returns the canonical lower-case 8-4-4-4-12 form of a handle.
func FormatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}
