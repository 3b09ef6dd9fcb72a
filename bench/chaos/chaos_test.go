package chaos_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/chaos"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// shortSeed is the seed of the short run: of its three runs, it kills
// xenactord in the first, and the next two run on the same daemon (its
// growth is checked).
const shortSeed = 15

// ciFaults are the faults of the short run: every kind but the host
// daemon kills, which need stunnel (TestChaos_Short adds them when it can).
var ciFaults = []string{chaos.FaultPanicVM, chaos.FaultPanicVBD, chaos.FaultPanicVIF, chaos.FaultPanicGuest,
	chaos.FaultStorageSlow, chaos.FaultStorageFail, chaos.FaultHostile, chaos.FaultXenstoreDrop,
	chaos.FaultBackendSlow, chaos.FaultHotplugFail, chaos.FaultKill}

// buildBench builds xenactor-bench, whose chaos-daemon command is the
// child daemon.
func buildBench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "xenactor-bench")
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/xenactor/xenactor/cmd/xenactor-bench")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func TestChaos_Short(t *testing.T) {
	if testing.Short() {
		t.Skip("a chaos run takes about a minute")
	}
	faults := ciFaults
	// Host daemon kills need stunnel (stunnel4); required under CI.
	if _, err := testenv.Lookup("stunnel4"); err == nil || testenv.Required() {
		faults = append(slices.Clone(faults), chaos.FaultDaemonKill)
	} else {
		t.Logf("no stunnel4: no %s (%v)", chaos.FaultDaemonKill, err)
	}
	bin := buildBench(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := chaos.Run(ctx, chaos.Options{Seed: shortSeed, Runs: 3, Faults: faults, RunDuration: 6 * time.Second, VMs: 8,
		Workers: 3, FaultInterval: 300 * time.Millisecond, OpTimeout: 20 * time.Second,
		Child:    func() *exec.Cmd { return exec.Command(bin, "chaos-daemon") },
		Progress: t.Logf})
	var out bytes.Buffer
	if rep != nil {
		chaos.WriteText(&out, rep)
	}
	require.NoError(t, err, "%s", &out)
	t.Logf("\n%s", &out)

	require.Empty(t, rep.Violations, "%s", &out)
	require.Equal(t, 3, rep.Runs)
	require.Equal(t, 2, rep.Incarnations, "the seed kills xenactord once")
	for _, k := range faults {
		require.Positive(t, rep.Injected[k], "no %s injected", k)
	}
	require.Positive(t, rep.Hit[chaos.FaultPanicGuest], "no guest actor panicked")
	require.Positive(t, rep.Hit[chaos.FaultStorageSlow], "no plugin call was slowed")
	require.Positive(t, rep.Ops[chaos.OpStart+": "+chaos.ResultOK], "no VM started")
	require.Len(t, rep.Samples, 3)
}

func TestParseFaults(t *testing.T) {
	all, err := chaos.ParseFaults("all")
	require.NoError(t, err)
	require.Equal(t, chaos.AllFaults, all)
	some, err := chaos.ParseFaults("panic-vm, xenstore-drop,panic-vm")
	require.NoError(t, err)
	require.Equal(t, []string{chaos.FaultPanicVM, chaos.FaultXenstoreDrop}, some)
	_, err = chaos.ParseFaults("panic-vm,meteor")
	require.True(t, errdefs.IsInvalid(err), "%v", err)
}
