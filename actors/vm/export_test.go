package vm

import "github.com/xenactor/xenactor/actors/guest"

// WrapGuestStore makes the guest actor of cfg's VM read through wrap(xs).
func WrapGuestStore(cfg *Config, wrap func(guest.Store) guest.Store) { cfg.wrapGuestStore = wrap }
