package vm

import "github.com/xenactor/xenactor/actors/guest"

// OnReceive sets the hook that sees every message of the VM actor first.
func OnReceive(c *Config, f func(msg any)) { c.onReceive = f }

// WrapGuestStore makes the guest actor of cfg's VM read through wrap(xs).
func WrapGuestStore(cfg *Config, wrap func(guest.Store) guest.Store) { cfg.wrapGuestStore = wrap }
