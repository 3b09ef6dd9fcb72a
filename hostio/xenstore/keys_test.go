package xenstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

func TestHandle_MkdirPermsAndWriteKeys(t *testing.T) {
	srv := xenstored.New(xenstored.Config{})
	t.Cleanup(func() { srv.Close() })
	nc, err := srv.ConnectDomain(0)
	require.NoError(t, err)
	c := xenstore.NewClient(nc)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()

	perms := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: 5, Access: xenstore.AccessRead}}
	require.NoError(t, c.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := tx.MkdirPerms(ctx, "/d", perms); err != nil {
			return err
		}
		return tx.WriteKeys(ctx, "/d", [][2]string{{"a", "1"}, {"b/c", "2"}})
	}))
	got, err := c.GetPerms(ctx, "/d/a")
	require.NoError(t, err)
	require.Equal(t, perms, got, "the keys inherit the directory's permissions")
	v, err := c.Read(ctx, "/d/b/c")
	require.NoError(t, err)
	require.Equal(t, "2", string(v))
}
