package hypervisortest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func memoryTests() []testCase {
	return []testCase{
		{"SetMemoryTarget", testMemoryTarget},
		{"HostFull_ResourceExhausted", testHostFull},
	}
}

func testMemoryTarget(t *testing.T, h *harness) {
	id, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), id))
	require.NoError(t, h.hv.SetMemoryTarget(h.ctx(), id, h.o.build.MemoryKiB/2))
	assert.Equal(t, h.o.build.MemoryKiB/2, h.info(id).TargetKiB)
	max := h.info(id).MaxMemKiB
	assert.True(t, errdefs.IsInvalid(h.hv.SetMemoryTarget(h.ctx(), id, max+4)), "target beyond max memory")
}

// testHostFull builds a domain larger than any host: creation or the build
// fails with ResourceExhausted, saying how much was needed.
func testHostFull(t *testing.T, h *harness) {
	const huge = 1 << 50 // KiB: an exbibyte
	cfg := h.config(h.o.types[0])
	cfg.MaxMemKiB = huge
	id, err := h.hv.Create(h.ctx(), cfg)
	if err == nil {
		h.t.Cleanup(func() { _ = h.hv.Destroy(context.Background(), id) })
		build := h.o.build
		build.MemoryKiB = huge
		_, err = h.hv.Build(h.ctx(), id, build)
	}
	require.Error(t, err)
	assert.True(t, errdefs.IsResourceExhausted(err), "%v", err)
	assert.Contains(t, err.Error(), "KiB")
	if id != 0 {
		info := h.info(id)
		assert.Less(t, info.MemoryKiB, uint64(huge), "a failed build holds no memory")
		require.NoError(t, h.hv.Destroy(h.ctx(), id))
		h.waitGone(id)
	}
}
