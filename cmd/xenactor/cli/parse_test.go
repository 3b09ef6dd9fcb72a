package cli

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/messages"
)

func TestParseMemory(t *testing.T) {
	for in, kib := range map[string]uint64{
		"512": 512 << 10, "512M": 512 << 10, "512MiB": 512 << 10, "512mb": 512 << 10, "2G": 2 << 20,
		"100K": 100, "1T": 1 << 30, " 64m ": 64 << 10,
	} {
		got, err := parseMemory(in)
		require.NoError(t, err, in)
		require.Equal(t, kib, got, in)
	}
	for _, in := range []string{"", "0", "-1M", "lots", "1.5G", "12X", "99999999999999999T"} {
		_, err := parseMemory(in)
		require.Error(t, err, in)
		require.Equal(t, ExitUsage, ExitCode(err), in)
	}
}

func TestParseVBD(t *testing.T) {
	vbd, err := parseVBD("devid=51712,params=/dev/loop0,ro,vdi=local/k")
	require.NoError(t, err)
	require.Equal(t, &messages.VBD{Devid: 51712, Params: "/dev/loop0", ReadOnly: true, Vdi: "local/k"}, vbd)
	vbd, err = parseVBD("devid=768,params=/dev/loop1")
	require.NoError(t, err)
	require.False(t, vbd.ReadOnly)
	for _, in := range []string{"params=/dev/loop0", "devid=x,params=/dev/loop0", "devid=1", "devid=1,params=p,size=3"} {
		_, err := parseVBD(in)
		require.Equal(t, ExitUsage, ExitCode(err), in)
	}
}

func TestParseVIF(t *testing.T) {
	vif, err := parseVIF("devid=1,mac=00:16:3e:00:00:02,bridge=xenbr0")
	require.NoError(t, err)
	require.Equal(t, &messages.VIF{Devid: 1, Mac: "00:16:3e:00:00:02", Bridge: "xenbr0"}, vif)
	_, err = parseVIF("mac=00:16:3e:00:00:02")
	require.Equal(t, ExitUsage, ExitCode(err))
}

func TestNewUUID(t *testing.T) {
	u := newUUID()
	require.True(t, looksLikeUUID(u), u)
	require.Equal(t, byte('4'), u[14], "version 4")
	require.NotEqual(t, u, newUUID())
	require.False(t, looksLikeUUID("web"))
	require.False(t, looksLikeUUID("6f1a2b3c-4d5e-4f60-8a7b-8c9d0e1f2a3g"))
}

func TestMemoryShown(t *testing.T) {
	require.Equal(t, "512M", memory(512<<10))
	require.Equal(t, "2G", memory(2<<20))
	require.Equal(t, "100K", memory(100))
	require.Equal(t, "0", memory(0))
}
