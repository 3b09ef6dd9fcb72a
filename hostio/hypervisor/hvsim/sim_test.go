package hvsim_test

import (
	"testing"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/hypervisor/hypervisortest"
)

var _ hypervisortest.PageAccess = (*hvsim.Sim)(nil)

func TestConformance(t *testing.T) {
	hypervisortest.Run(t, func(t *testing.T) hypervisor.Hypervisor {
		return hvsim.New(hvsim.Config{})
	})
}

func TestConformance_DirtyingGuests(t *testing.T) {
	hypervisortest.Run(t, func(t *testing.T) hypervisor.Hypervisor {
		return hvsim.New(hvsim.Config{DirtyPagesPerSecond: 5000, WorkingSetPages: 64})
	})
}
