package vm_test

import (
	"os"
	"testing"

	"github.com/xenactor/xenactor/hostio/vgpu/vgputest"
)

// TestMain lets the test binary run as the DEMU stand-in (vgpu_test.go).
func TestMain(m *testing.M) {
	vgputest.Main()
	os.Exit(m.Run())
}
