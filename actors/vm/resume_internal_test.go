package vm

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// A Suspended VM whose spec has passed-through devices is not resumed
// without them: the resume fails before it touches the hypervisor, and
// the VM stays Suspended with its image.
func TestRunner_Resume_RefusesPassthrough(t *testing.T) {
	image := filepath.Join(t.TempDir(), "vm.img")
	require.NoError(t, os.WriteFile(image, []byte("image"), 0o600))
	spec := Spec{UUID: "6b2f0e4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b", Type: hypervisor.DomainTypePV, VCPUs: 1,
		MemoryKiB: 64 << 10, Kernel: "sim:linux", PCIs: []PCI{{Address: "0000:03:00.0"}}}
	// No hypervisor: a resume that reached it would panic.
	r := &runner{cfg: &Config{Spec: spec}, image: image}
	done := r.resume(context.Background(), &ResumeVM{})
	require.ErrorIs(t, done.err, errdefs.ErrNotImplemented)
	require.Contains(t, done.err.Error(), "PCI passthrough needs the device-model daemon, not available yet")
	require.False(t, done.hasDomain)
	require.Nil(t, done.image, "the VM stays Suspended")
	require.FileExists(t, image)
}
