package statedir

import (
	"fmt"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// MaxNameLen is the longest kind or id a Store accepts, well inside a file
// name's 255 bytes once the ".json.corrupt-<time>" suffix is added.
const MaxNameLen = 128

// validName returns nil when name may be used as a kind or an id: 1 to
// MaxNameLen characters from [A-Za-z0-9._-], not starting with "." (which
// also rules out "." and the Store's own hidden files) and without "..".
func validName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("statedir: empty %s: %w", what, errdefs.ErrInvalid)
	case len(name) > MaxNameLen:
		return fmt.Errorf("statedir: %s of %d bytes, more than %d: %w", what, len(name), MaxNameLen, errdefs.ErrInvalid)
	case name[0] == '.':
		return fmt.Errorf("statedir: %s %q starts with '.': %w", what, name, errdefs.ErrInvalid)
	case strings.Contains(name, ".."):
		return fmt.Errorf("statedir: %s %q contains '..': %w", what, name, errdefs.ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Errorf("statedir: %s %q: character %q not in [A-Za-z0-9._-]: %w",
				what, name, name[i], errdefs.ErrInvalid)
		}
	}
	return nil
}

// validKey validates a kind and an id together.
func validKey(kind, id string) error {
	if err := validName("kind", kind); err != nil {
		return err
	}
	return validName("id", id)
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}
