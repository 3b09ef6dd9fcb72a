// Package netserve has the accept loop the project's socket servers share.
package netserve

import (
	"errors"
	"net"
)

// Accept accepts connections on l and hands each to handle, which must not
// block, until l is closed (Accept returns nil) or fails for good (the
// error). Temporary errors (timeouts) are retried.
func Accept(l net.Listener, handle func(net.Conn)) error {
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		handle(nc)
	}
}
