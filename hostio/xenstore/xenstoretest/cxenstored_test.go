package xenstoretest_test

import (
	"testing"

	"github.com/xenactor/xenactor/hostio/xenstore/xenstoretest"
	"github.com/xenactor/xenactor/test/cxenstored"
)

// TestConformance_CXenstored runs the suite against Debian's C xenstored
// 4.17, the reference the suite encodes.
func TestConformance_CXenstored(t *testing.T) {
	xenstoretest.Run(t, func(t *testing.T) xenstoretest.Target {
		d := cxenstored.StartForTest(t)
		return xenstoretest.SocketTarget(d.SocketPath(), xenstoretest.Caps{Control: true})
	})
}
