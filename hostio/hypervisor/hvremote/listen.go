package hvremote

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Listen opens a Unix socket at path for Serve, creating its directory and
// replacing a stale socket file; a socket another server still answers on
// is errdefs.ErrExists. The socket is for root only (0600), as privcmd is.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("hvremote: socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("hvremote: %s: another server is listening: %w", path, errdefs.ErrExists)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("hvremote: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
