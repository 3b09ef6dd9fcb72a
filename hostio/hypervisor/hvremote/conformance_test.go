package hvremote_test

import (
	"testing"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/hypervisor/hypervisortest"
)

var _ hypervisortest.PageAccess = (*hvremote.Client)(nil)

func TestConformance(t *testing.T) {
	hypervisortest.Run(t, func(t *testing.T) hypervisor.Hypervisor {
		path, _ := serve(t, hvsim.New(hvsim.Config{}), nil)
		return dial(t, path)
	})
}

func TestConformance_DirtyingGuests(t *testing.T) {
	hypervisortest.Run(t, func(t *testing.T) hypervisor.Hypervisor {
		path, _ := serve(t, hvsim.New(hvsim.Config{DirtyPagesPerSecond: 5000, WorkingSetPages: 64}), nil)
		return dial(t, path)
	})
}
