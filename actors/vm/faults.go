package vm

import "github.com/xenactor/xenactor/actors/guest"

// OnReceive sets the hook that sees every message of the VM actor first,
// in the actor: a fault injector (the tests, the chaos suite) panics in it
// to panic the actor. It must return at once otherwise.
func OnReceive(c *Config, f func(msg any)) { c.onReceive = f }

// WrapGuestStore makes the guest actor of cfg's VM read through wrap(xs):
// a fault injector panics or delays in the wrapper.
func WrapGuestStore(cfg *Config, wrap func(guest.Store) guest.Store) { cfg.wrapGuestStore = wrap }

// OnPriorWait sets the hook called, in the actor, when an incarnation of
// the VM actor begins to wait for the operations of a previous one to end
// before it reads the journal: a test releases a held operation then.
func OnPriorWait(c *Config, f func()) { c.onPriorWait = f }
