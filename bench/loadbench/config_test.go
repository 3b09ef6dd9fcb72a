package loadbench

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The file form of a scenario is the flag form: the same fields give the
// same Config, and flags given with -f override the file's fields.
func TestParseArgs_FileEqualsFlags(t *testing.T) {
	flags := []string{"-vms", "7", "-concurrency", "4", "-conns", "2", "-duration", "1500ms", "-memory", "32",
		"-weights", "start=2,shutdown=1,reboot=0", "-seed", "42", "-simhost", "-xenactord", "/x/xenactord"}
	fromFlags, out, err := ParseArgs(ScenarioChurn, append(flags, "-json", "-plot", "/tmp/p"))
	require.NoError(t, err)
	require.Equal(t, Output{JSON: true, Plot: "/tmp/p"}, out)
	require.Equal(t, 7, fromFlags.VMs)
	require.Equal(t, Weights{OpStart: 2, OpShutdown: 1, OpReboot: 0}, fromFlags.Weights)

	file := filepath.Join(t.TempDir(), "churn.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"scenario": "churn", "vms": 7, "concurrency": 4, "conns": 2,
		"duration": "1.5s", "memory_mib": 32, "weights": {"start": 2, "shutdown": 1, "reboot": 0}, "seed": 42,
		"simhost": true, "xenactord": "/x/xenactord"}`), 0o600))
	fromFile, _, err := ParseArgs(ScenarioChurn, []string{"-f", file})
	require.NoError(t, err)
	require.Equal(t, fromFlags, fromFile)

	over, _, err := ParseArgs(ScenarioChurn, []string{"-f", file, "-vms", "9", "-duration", "2s"})
	require.NoError(t, err)
	require.Equal(t, 9, over.VMs)
	require.Equal(t, Duration(2*time.Second), over.Duration)
	require.Equal(t, 4, over.Concurrency, "the file's")

	// A file's own fields only: the defaults fill in the rest.
	require.NoError(t, os.WriteFile(file, []byte(`{"scenario": "scale", "levels": [10, 100, 1000, 5000, 10000]}`), 0o600))
	scale, _, err := ParseArgs(ScenarioScale, []string{"-f", file})
	require.NoError(t, err)
	want := DefaultConfig(ScenarioScale)
	want.Levels = ScaleLevels
	require.Equal(t, want, scale)
	_, _, err = ParseArgs(ScenarioStorm, []string{"-f", file})
	require.True(t, errdefs.IsInvalid(err), "a scale file is not a storm: %v", err)

	// A misspelt field is an error, not a default silently kept.
	require.NoError(t, os.WriteFile(file, []byte(`{"scenario": "storm", "vm": 7}`), 0o600))
	_, _, err = ParseArgs(ScenarioStorm, []string{"-f", file})
	require.True(t, errdefs.IsInvalid(err), "an unknown field: %v", err)
}

func TestValidate_RejectsWhatCannotRun(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"no VMs":             func(c *Config) { c.VMs = 0 },
		"more conns":         func(c *Config) { c.Conns = c.Concurrency + 1 },
		"unknown weight":     func(c *Config) { c.Weights = Weights{"migrate": 1} },
		"no weight":          func(c *Config) { c.Weights = Weights{OpStart: 0} },
		"no duration":        func(c *Config) { c.Duration = 0 },
		"unknown scenario":   func(c *Config) { c.Scenario = "migrate" },
		"no memory":          func(c *Config) { c.MemoryMiB = 0 },
		"negative weight":    func(c *Config) { c.Weights = Weights{OpStart: -1, OpReboot: 2} },
		"zero concurrency":   func(c *Config) { c.Concurrency = 0 },
		"zero connections":   func(c *Config) { c.Conns = 0 },
		"weights not a list": func(c *Config) { c.Weights = nil },
	} {
		c := DefaultConfig(ScenarioChurn)
		require.NoError(t, c.Validate())
		edit(&c)
		require.True(t, errdefs.IsInvalid(c.Validate()), name)
	}
	c := DefaultConfig(ScenarioScale)
	require.NoError(t, c.Validate())
	c.Levels = Ints{100, 10}
	require.True(t, errdefs.IsInvalid(c.Validate()), "decreasing levels")
	c = DefaultConfig(ScenarioGuests)
	c.Interval = 0
	require.True(t, errdefs.IsInvalid(c.Validate()), "no agent interval")
	c = DefaultConfig(ScenarioGuests)
	require.Equal(t, ConsoleLog, c.Console, "the started daemon has no ptys by default")
	c.Console = "serial"
	require.True(t, errdefs.IsInvalid(c.Validate()), "unknown console mode")
	c = DefaultConfig(ScenarioGuests)
	c.Profile = t.TempDir()
	require.True(t, errdefs.IsInvalid(c.Validate()), "profiles are the scale run's")
	c = DefaultConfig(ScenarioScale)
	c.Profile = t.TempDir()
	require.NoError(t, c.Validate())
	c.ProfileLength = Duration(time.Millisecond)
	require.True(t, errdefs.IsInvalid(c.Validate()), "profiles shorter than a second")
}
