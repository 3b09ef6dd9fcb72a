package hvsim

import (
	"fmt"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// allocID picks the next domain id as Xen does: a rover moves up from the
// last id handed out, wraps from DOMID_FIRST_RESERVED back to 1 and skips
// ids in use, so a freed id is not reused until the space wraps. s.mu is
// held.
func (s *Sim) allocID() (hypervisor.DomID, error) {
	id := s.rover
	for range hypervisor.DomIDFirstReserved - 1 {
		id++
		if id >= hypervisor.DomIDFirstReserved {
			id = 1
		}
		if _, used := s.doms[id]; !used {
			s.rover = id
			return id, nil
		}
	}
	return 0, fmt.Errorf("all %d domain ids are in use: %w", hypervisor.DomIDFirstReserved-1, errdefs.ErrResourceExhausted)
}
