package ovs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestParseExternalIDs(t *testing.T) {
	ids, err := parseExternalIDs("x", []byte(`{"data":[[["map",[["attached-mac","00:16:3e:00:00:01"],["xs-vm-uuid","abc"]]]]],"headings":["external_ids"]}`))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"attached-mac": "00:16:3e:00:00:01", "xs-vm-uuid": "abc"}, ids)
	ids, err = parseExternalIDs("x", []byte(`{"data":[[["map",[]]]],"headings":["external_ids"]}`))
	require.NoError(t, err)
	require.Empty(t, ids)
	for _, bad := range []string{``, `junk`, `{"data":[]}`, `{"data":[[1,2]]}`, `{"data":[[["set",[]]]]}`,
		`{"data":[[["map",[[1,2]]]]]}`, `{"data":[[["map"]]]}`} {
		_, err := parseExternalIDs("x", []byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

func TestVsctlErrorKind(t *testing.T) {
	for msg, want := range map[string]error{
		"ovs-vsctl: no bridge named nope":                                                       errdefs.ErrNotFound,
		"ovs-vsctl: no port named nope":                                                         errdefs.ErrNotFound,
		`ovs-vsctl: no row "nope" in table Interface`:                                           errdefs.ErrNotFound,
		"ovs-vsctl: cannot create a port named b1 because a bridge named b1 already exists":     errdefs.ErrExists,
		"ovs-vsctl: cannot delete port b1 because it is the local port for bridge b1":           errdefs.ErrInvalid,
		"ovs-vsctl: unix:/x/db.sock: database connection failed (No such file or directory)":    errdefs.ErrUnavailable,
		"2026-11-24T23:53:36Z|00002|fatal_signal|WARN|terminating with signal 14 (Alarm clock)": errdefs.ErrTimeout,
		"ovs-vsctl: something else":                                                             nil,
	} {
		require.Equal(t, want, vsctlErrorKind(msg), msg)
	}
}
