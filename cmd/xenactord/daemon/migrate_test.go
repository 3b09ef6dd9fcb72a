package daemon_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/messages"
)

// migrationDaemon is a daemon with a migration listener over TLS, and
// the client.json of its credentials a source daemon reads.
type migrationDaemon struct {
	d        *daemon.Daemon
	c        *client.Client
	config   string
	stateDir string
}

func newMigrationDaemon(t *testing.T) *migrationDaemon {
	t.Helper()
	runDir := shortDir(t)
	stateDir := filepath.Join(runDir, "state")
	d := start(t, daemon.Config{StateDir: stateDir, RunDir: runDir, HostMemoryMiB: 2048,
		MigrateAddr: "127.0.0.1:0", MigrateReceivers: 2})
	require.NotEmpty(t, d.MigrateAddr())
	creds := filepath.Join(stateDir, "api")
	config := filepath.Join(runDir, "dest.json")
	require.NoError(t, apiwire.WriteClientConfig(config, apiwire.ClientConfig{Address: "127.0.0.1:1",
		CA: filepath.Join(creds, apiwire.CAFile), Token: filepath.Join(creds, apiwire.TokenFile)}))
	return &migrationDaemon{d: d, c: client.New(client.InProcess(d.System(), d.API())), config: config,
		stateDir: stateDir}
}

// TestDaemon_Migration_BothWaysAtOnce migrates four VMs each way between
// two daemons at once, over TLS, with two receivers each: every VM ends on
// the other daemon, running, its guest reporting.
func TestDaemon_Migration_BothWaysAtOnce(t *testing.T) {
	a, b := newMigrationDaemon(t), newMigrationDaemon(t)
	ctx := ctxFor(t)
	type move struct {
		uuid     string
		src, dst *migrationDaemon
	}
	var moves []move
	for i := range 8 {
		src, dst := a, b
		if i%2 == 1 {
			src, dst = b, a
		}
		spec := newSpec(i)
		startVM(t, src.d, spec)
		moves = append(moves, move{spec.UUID, src, dst})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(moves))
	for i, m := range moves {
		wg.Go(func() {
			task, err := m.src.c.MigrateVM(ctx, m.uuid, m.dst.d.MigrateAddr(), m.dst.config, true, i%4 < 2)
			if err == nil {
				_, err = task.Wait(ctx, nil)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, m := range moves {
		require.NoError(t, errs[i], "migrate %s", m.uuid)
		_, err := m.src.c.StatVM(ctx, m.uuid)
		require.Error(t, err, "the source forgot %s", m.uuid)
		require.Eventually(t, func() bool {
			st, err := m.dst.c.StatVM(ctx, m.uuid)
			return err == nil && st.PowerState == messages.PowerState_POWER_STATE_RUNNING && st.Guest != nil
		}, waitFor, tick, "%s runs on the destination, its guest reporting", m.uuid)
	}
	for _, d := range []*migrationDaemon{a, b} {
		vms, err := d.c.ListVMs(ctx)
		require.NoError(t, err)
		assert.Len(t, vms, 4)
	}
}

// TestDaemon_Migration_WrongTokenLeavesTheVM refuses a migration whose
// token is wrong: the VM runs on at the source, the destination has none.
func TestDaemon_Migration_WrongTokenLeavesTheVM(t *testing.T) {
	a, b := newMigrationDaemon(t), newMigrationDaemon(t)
	ctx := ctxFor(t)
	spec := newSpec(0)
	startVM(t, a.d, spec)
	cfg, err := apiwire.LoadClientConfig(b.config)
	require.NoError(t, err)
	cfg.Token = filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(cfg.Token, []byte("not-the-token\n"), 0o600))
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, apiwire.WriteClientConfig(bad, cfg))
	task, err := a.c.MigrateVM(ctx, spec.UUID, b.d.MigrateAddr(), bad, true, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.ErrorContains(t, err, "bad token")
	st, err := a.c.StatVM(ctx, spec.UUID)
	require.NoError(t, err)
	assert.Equal(t, messages.PowerState_POWER_STATE_RUNNING, st.PowerState)
	vms, err := b.c.ListVMs(ctx)
	require.NoError(t, err)
	assert.Empty(t, vms)
}
