package ovs_test

import (
	"testing"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/ovs/ovstest"
)

func TestSim_Conformance(t *testing.T) {
	ovstest.Run(t, func(t *testing.T) ovs.Switch { return ovs.NewSim() })
}
