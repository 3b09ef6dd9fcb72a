package storage

import (
	"fmt"
	"os"
	"path/filepath"
)

// Install makes pluginDir a plugin directory of binary, a program that
// implements every call and dispatches on the name it is run by: one
// symlink per function (Functions) pointing to binary's absolute path.
// Existing entries of those names are replaced; pluginDir is created if
// needed.
func Install(pluginDir, binary string) error {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return fmt.Errorf("storage: install %s: %w", binary, err)
	}
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return fmt.Errorf("storage: install into %s: %w", pluginDir, err)
	}
	for _, fn := range Functions {
		link := filepath.Join(pluginDir, fn)
		tmp := filepath.Join(pluginDir, "."+fn+".tmp")
		_ = os.Remove(tmp)
		if err := os.Symlink(abs, tmp); err != nil {
			return fmt.Errorf("storage: install %s: %w", fn, err)
		}
		if err := os.Rename(tmp, link); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("storage: install %s: %w", fn, err)
		}
	}
	return nil
}
