package guestagent_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/guestagent"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

func TestReporter_DiffAndNewDomain(t *testing.T) {
	r := newRig(t)
	ctx := tctx(t)
	xs, err := r.guest(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { xs.Close() })
	var seen []string
	rep := guestagent.NewReporter("", func(uid string) { seen = append(seen, uid) })
	keys := map[string]string{"data/os_name": "Alpine", "attr/vif/0/ipv4/0": "10.0.0.2",
		"attr/vif/0/ipv4/1": "10.0.0.3"}

	// The first report writes everything, with data/updated.
	res, err := rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.True(t, res.NewDomain)
	require.Equal(t, []string{"attr/vif/0/ipv4/0", "attr/vif/0/ipv4/1", "data/os_name", "data/updated"}, res.Written)
	require.Equal(t, "Alpine", r.read(t, "data/os_name"))
	require.Equal(t, "1", r.read(t, "data/updated"))
	require.Equal(t, []string{"uid-1"}, seen)

	// The same keys again: nothing is written, not even data/updated.
	r.write(t, "data/updated", "seen")
	res, err = rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.Equal(t, guestagent.Result{}, res)
	require.Equal(t, "seen", r.read(t, "data/updated"))

	// One address changed and one went: only they are touched.
	r.write(t, "data/os_name", "changed behind the agent's back")
	keys = map[string]string{"data/os_name": "Alpine", "attr/vif/0/ipv4/0": "10.0.0.9"}
	res, err = rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.Equal(t, []string{"attr/vif/0/ipv4/0", "data/updated"}, res.Written)
	require.Equal(t, []string{"attr/vif/0/ipv4/1"}, res.Removed)
	require.Equal(t, "10.0.0.9", r.read(t, "attr/vif/0/ipv4/0"))
	require.Empty(t, r.read(t, "attr/vif/0/ipv4/1"))
	require.Equal(t, "changed behind the agent's back", r.read(t, "data/os_name"))

	// A new unique-domain-id (a migration: a new, empty home): everything
	// again.
	r.write(t, "unique-domain-id", "uid-2")
	res, err = rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.True(t, res.NewDomain)
	require.Equal(t, []string{"attr/vif/0/ipv4/0", "data/os_name", "data/updated"}, res.Written)
	require.Equal(t, "Alpine", r.read(t, "data/os_name"))
	require.Equal(t, []string{"uid-1", "uid-2"}, seen)

	// A resumed agent that remembers what it wrote writes only changes.
	rep = guestagent.NewReporter("uid-2", nil)
	rep.Assume(keys)
	res, err = rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.Equal(t, guestagent.Result{}, res)
}

func TestReporter_FailedWriteIsRetried(t *testing.T) {
	r := newRig(t)
	ctx := tctx(t)
	xs, err := r.guest(ctx)
	require.NoError(t, err)
	rep := guestagent.NewReporter("", nil)
	keys := map[string]string{"data/os_name": "Alpine"}
	require.NoError(t, xs.Close())
	_, err = rep.Report(ctx, xs, keys)
	require.Error(t, err)

	xs, err = r.guest(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { xs.Close() })
	res, err := rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.Equal(t, []string{"data/os_name", "data/updated"}, res.Written)
}

// A key the toolstack keeps the guest out of is left out of the report,
// not the whole report with it.
func TestReporter_DeniedKey(t *testing.T) {
	r := newRig(t)
	ctx := tctx(t)
	require.NoError(t, r.dom0.Write(ctx, r.home+"/control/feature-balloon", nil))
	require.NoError(t, r.dom0.SetPerms(ctx, r.home+"/control/feature-balloon",
		[]xenstore.Perm{{Domid: 0, Access: xenstore.AccessRead}, {Domid: domid, Access: xenstore.AccessRead}}))
	xs, err := r.guest(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { xs.Close() })
	rep := guestagent.NewReporter("", nil)
	keys := map[string]string{"data/os_name": "Alpine", "control/feature-balloon": "1"}
	res, err := rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.Equal(t, []string{"data/os_name", "data/updated"}, res.Written)
	require.Equal(t, []string{"control/feature-balloon"}, res.Denied)
	require.Equal(t, "Alpine", r.read(t, "data/os_name"))
	require.Empty(t, r.read(t, "control/feature-balloon"))

	// Not tried again while its value stays.
	res, err = rep.Report(ctx, xs, keys)
	require.NoError(t, err)
	require.Equal(t, guestagent.Result{}, res)
}
