package xen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// CapabilitiesPath is where a Xen domain's kernel says what it is.
const CapabilitiesPath = "/proc/xen/capabilities"

// ControlDomain reports whether the capabilities file at path says
// control_d, that is whether this process runs in the control domain (dom0)
// of a Xen host. A missing file (no Xen, or xenfs not mounted) is
// (false, nil).
func ControlDomain(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("xen capabilities: %w", err)
	}
	return hasControlD(b), nil
}

// hasControlD reports whether the capabilities text lists control_d: one or
// more capabilities separated by commas or white space.
func hasControlD(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		for _, f := range strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if f == "control_d" {
				return true
			}
		}
	}
	return false
}
