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
