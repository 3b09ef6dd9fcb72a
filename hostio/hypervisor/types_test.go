package hypervisor_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestUUID(t *testing.T) {
	u, err := hypervisor.ParseUUID("0123ABCD-ef01-4000-8000-00000000BEEF")
	require.NoError(t, err)
	assert.Equal(t, "0123abcd-ef01-4000-8000-00000000beef", hypervisor.FormatUUID(u))
	assert.Equal(t, "00000000-0000-0000-0000-000000000000", hypervisor.FormatUUID([16]byte{}))
	for _, bad := range []string{"", "0123abcd-ef01-4000-8000-00000000beef0", "0123abcd_ef01-4000-8000-00000000beef",
		"0123abcg-ef01-4000-8000-00000000beef", "0123abcdef014000800000000000beef"} {
		_, err := hypervisor.ParseUUID(bad)
		assert.True(t, errdefs.IsInvalid(err), bad)
	}
}

func TestNames(t *testing.T) {
	want := []string{"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"}
	for i, r := range hypervisor.ShutdownReasons() {
		assert.Equal(t, want[i], r.String())
		assert.Equal(t, hypervisor.ShutdownReason(i), r)
	}
	assert.Equal(t, "ShutdownReason(6)", hypervisor.ShutdownReason(6).String())
	assert.False(t, hypervisor.ShutdownReason(6).Valid())
	assert.Equal(t, "pvh", hypervisor.DomainTypePVH.String())
	assert.False(t, hypervisor.DomainType(0).Valid())
	assert.Equal(t, "page-batch", hypervisor.RecordPageBatch.String())
	assert.Equal(t, "7", hypervisor.DomID(7).String())
}
