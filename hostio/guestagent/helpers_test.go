package guestagent_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

const (
	waitFor = 10 * time.Second
	tick    = time.Millisecond
	domid   = 7
)

// rig is the project's xenstored with one guest domain, as a toolstack
// leaves it: a home the guest owns, a VIF's frontend with its MAC, and a
// unique-domain-id.
type rig struct {
	srv  *xenstored.Server
	dom0 *xenstore.Client
	home string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := xenstored.New(xenstored.Config{})
	t.Cleanup(func() { srv.Close() })
	nc, err := srv.ConnectDomain(0)
	require.NoError(t, err)
	r := &rig{srv: srv, dom0: xenstore.NewClient(nc), home: xenstore.DomainPath(domid)}
	t.Cleanup(func() { r.dom0.Close() })
	ctx := tctx(t)
	require.NoError(t, r.dom0.Introduce(ctx, domid, 1, 1))
	owned := []xenstore.Perm{{Domid: domid, Access: xenstore.AccessNone}}
	readOnly := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessRead}, {Domid: domid, Access: xenstore.AccessRead}}
	require.NoError(t, r.dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		for _, d := range []string{"", "/data", "/attr", "/control", "/device", "/device/vif", "/device/vif/0"} {
			if err := tx.MkdirPerms(ctx, r.home+d, owned); err != nil {
				return err
			}
		}
		if err := tx.Write(ctx, r.home+"/device/vif/0/mac", []byte("00:16:3E:00:00:01")); err != nil {
			return err
		}
		if err := tx.Write(ctx, r.home+"/unique-domain-id", []byte("uid-1")); err != nil {
			return err
		}
		return tx.SetPerms(ctx, r.home+"/unique-domain-id", readOnly)
	}))
	return r
}

// guest opens a connection that is the guest domain.
func (r *rig) guest(ctx context.Context) (*xenstore.Client, error) {
	nc, err := r.srv.ConnectDomain(domid)
	if err != nil {
		return nil, err
	}
	return xenstore.NewClient(nc), nil
}

// read returns the value of the guest's key rel, "" if it is missing.
func (r *rig) read(t *testing.T, rel string) string {
	t.Helper()
	v, err := r.dom0.Read(tctx(t), r.home+"/"+rel)
	if err != nil {
		return ""
	}
	return string(v)
}

func (r *rig) write(t *testing.T, rel, v string) {
	t.Helper()
	require.NoError(t, r.dom0.Write(tctx(t), r.home+"/"+rel, []byte(v)))
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
