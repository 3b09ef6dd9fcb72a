//go:build !linux

package guestagent

import (
	"errors"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// sysUname is uname(2), which only Linux guests have here.
func sysUname() (Uname, error) {
	return Uname{}, errors.Join(errors.New("uname: not a Linux guest"), errdefs.ErrUnavailable)
}

// sysStatfs is statfs(2), which only Linux guests have here.
func sysStatfs(string) (uint64, uint64, error) {
	return 0, 0, errors.Join(errors.New("statfs: not a Linux guest"), errdefs.ErrUnavailable)
}
